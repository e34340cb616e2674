#pragma once

#include <functional>
#include <map>
#include <memory>

#include <nimbus/store/sql/connection.hpp>
#include <nimbus/store/sql/usage_sql.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::store::sql {

/// The store's reads and writes in SQL that SQLite and PostgreSQL both speak:
/// `?` parameters, `RETURNING`, `ON CONFLICT DO NOTHING`, integer times. Each
/// engine derives from it to begin, commit and roll back in its own way.
class SqlTransaction : public WriteTransaction {
public:
    explicit SqlTransaction(Connection& connection)
        : db_(connection) {}
    ~SqlTransaction() override;

    SqlTransaction(const SqlTransaction&) = delete;
    SqlTransaction& operator=(const SqlTransaction&) = delete;

    std::vector<Ou> ous() override;
    std::optional<Ou> find_ou(std::string_view path_key) override;
    std::optional<Ou> root_ou() override;
    std::vector<Code> codes(const CodeFilter& filter) override;
    std::optional<Code> find_code(std::int64_t id) override;
    std::vector<Code> find_codes_by_name(std::string_view name_key) override;
    std::vector<ConcludedCode> concluded_code_names() override;
    std::vector<Service> services() override;
    std::optional<Service> find_service(std::string_view name_key) override;
    std::vector<Code> service_codes(std::int64_t service_id, CodeType list) override;
    std::vector<std::string> enabled_features(std::int64_t service_id) override;
    std::vector<Service> services_listing(std::int64_t code_id) override;
    std::vector<OutcomeInfo> outcomes() override;
    std::vector<Session>
    sessions_with_external_ids(const std::vector<std::string>& external_ids) override;
    std::vector<Session> sessions(const SessionQuery& query) override;
    void each_usage_count(const UsageQuery& query,
                          const std::function<void(const UsageCount&)>& visit) override;
    void each_session_count(const UsageQuery& query,
                            const std::function<void(const SessionCount&)>& visit) override;
    void each_session(const ExportQuery& query,
                      const std::function<void(const Session&)>& visit) override;
    void each_concluded_code(const ExportQuery& query,
                             const std::function<void(const ConcludedCodeRow&)>& visit) override;
    void each_concluded_tag(const ExportQuery& query,
                            const std::function<void(const ConcludedTagRow&)>& visit) override;
    void
    each_session_context(const ExportQuery& query,
                         const std::function<void(const SessionContextValue&)>& visit) override;
    std::vector<AuditEntry> audit_entries(const AuditFilter& filter) override;
    void each_stored_row(const std::function<void(const StoredRow&)>& visit) override;
    LedgerHead ledger_head() override;
    std::vector<LedgerEntry> ledger_entries(std::int64_t after, std::size_t limit,
                                            bool recompute) override;
    std::int64_t pending_ledger_entries() override;
    std::vector<std::int64_t> ledger_positions_of(std::string_view record_hash) override;
    std::optional<UnchainedRow> first_unchained_row() override;
    std::int64_t concluded_sessions(const UsageSample& sample) override;
    std::vector<ItemCount> code_counts(const UsageSample& sample) override;
    std::vector<ItemCount> tag_counts(const UsageSample& sample) override;
    std::vector<Directory> directories() override;
    std::vector<DirectoryEntry> directory_entries(std::int64_t ou_id) override;
    std::vector<DirectoryEntry>
    directory_entries_with_numbers(const std::vector<std::string>& numbers) override;
    std::optional<StoredWrapUp> wrap_up(std::int64_t service_id) override;
    std::vector<std::string> directory_countries() override;
    std::vector<CallerNumber> caller_numbers(const std::vector<std::string>& callers) override;
    std::vector<std::string> callers_without_number(std::string_view country) override;
    std::vector<SessionCaller>
    session_callers(const std::vector<std::int64_t>& session_ids) override;
    std::vector<ContextField> context_fields() override;
    std::vector<SessionContextValue>
    context_values(const std::vector<std::int64_t>& session_ids) override;
    bool context_field_used(std::int64_t field_id) override;

    std::int64_t insert_ou(const NewOu& ou) override;
    std::int64_t insert_code(const NewCode& code) override;
    void update_code(std::int64_t id, std::string_view name, std::string_view name_key,
                     std::string_view description) override;
    void mark_code_deleted(std::int64_t id, Timestamp at) override;
    std::int64_t insert_service(const NewService& service) override;
    void update_service(std::int64_t id, std::string_view name, std::string_view name_key,
                        License license) override;
    void replace_service_codes(std::int64_t service_id, CodeType list,
                               const std::vector<std::int64_t>& code_ids) override;
    void set_feature(std::int64_t service_id, std::string_view feature, bool enabled) override;
    void put_wrap_up(std::int64_t service_id, const std::optional<StoredWrapUp>& policy) override;
    void set_service_retired(std::int64_t id, std::optional<Timestamp> at) override;
    void delete_service(std::int64_t id) override;
    void set_ou_retired(std::int64_t id, std::optional<Timestamp> at) override;
    void delete_ou(std::int64_t id) override;
    std::vector<Session> find_sessions(const std::vector<std::string>& external_ids) override;
    void insert_sessions(const std::vector<CallData>& calls) override;
    void complete_session(std::int64_t id, Timestamp ended_at, std::string_view outcome,
                          const CallTimes& times) override;
    void insert_conclusion(const NewConclusion& conclusion) override;
    void append_audit(const NewAuditEntry& entry) override;
    std::int64_t chain_unchained_records() override;
    void insert_stored_row(const StoredRow& row) override;
    void stored_rows_inserted() override;
    void put_directory(std::int64_t ou_id, std::string_view country,
                       Timestamp imported_at) override;
    void delete_directory(std::int64_t ou_id) override;
    void insert_directory_entry(const DirectoryEntry& entry) override;
    void update_directory_entry(const DirectoryEntry& entry) override;
    void delete_directory_entry(std::int64_t ou_id, std::string_view number) override;
    void insert_caller_numbers(const std::vector<CallerNumber>& readings) override;
    std::int64_t insert_context_field(const ContextField& field) override;
    void update_context_field(const ContextField& field) override;
    void delete_context_field(std::int64_t id) override;

protected:
    Connection& connection() { return db_; }
    /// The quoted names of a stored table's columns, in `StoredRow` order.
    static std::string stored_columns(std::string_view table);
    /// Called before an import inserts sessions; engines may defer work.
    virtual void session_inserted() {}
    /// From now on, ledger entries wait in ledger_pending for the engine to
    /// chain them, instead of being chained by this transaction (writers that
    /// do not wait for one another; see schema/postgresql/0009).
    void leave_ledger_entries_pending() { pending_ledger_ = true; }
    /// How far the store's usage rollups reach (none: reports count sessions).
    virtual RollupReach usage_reach();
    /// Brings the rollups up to the sessions this transaction stored.
    void settle_usage_rollups(std::string_view least) { settle_usage(db_, least, usage_delta_); }

private:
    UsageDelta usage_delta_;
    bool usage_delta_begun_ = false;

    /// A statement for `count` rows of an import batch, prepared once per
    /// size: batches are full but for the last one.
    struct BatchStatement {
        std::unique_ptr<Statement> statement;
        std::size_t count = 0;
    };
    Statement& batch_statement(BatchStatement& cached, std::size_t count,
                               const std::function<std::string()>& sql);

    /// Appends the ledger entry of a record just written, read back from the store.
    void chain(LedgerKind kind, std::int64_t record_id);
    /// Appends the ledger entry of a record from its rows in canonical form
    /// (each row without the record's id; see ledger.cpp).
    void chain_rows(LedgerKind kind, std::int64_t record_id, const std::vector<StoredRow>& rows);
    /// Appends an entry for a record whose hash is known.
    void append_entry(LedgerKind kind, std::int64_t record_id, const std::string& record_hash);
    /// The row of `table` whose `key` column holds `id`, every column as stored.
    std::optional<StoredRow> row_by_key(std::string_view table, std::string_view key,
                                        std::int64_t id);
    /// Inserts a row of a stored table; with `generated`, that column is left
    /// to the store and its value given.
    std::int64_t insert_row(const StoredRow& row, std::string_view generated = "");
    /// A statement prepared once per transaction, for SQL run many times.
    Statement& cached_statement(const std::string& sql);

    Connection& db_;
    /// The ledger's last entry as this transaction left it; read at the
    /// first append, forgotten when rows are copied in.
    std::optional<LedgerHead> ledger_tail_;
    bool pending_ledger_ = false;
    std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements_;
    BatchStatement find_sessions_;
    BatchStatement insert_sessions_;
    BatchStatement insert_times_;
    BatchStatement insert_caller_numbers_;
    std::unique_ptr<Statement> stored_insert_; ///< for the rows of `stored_insert_table_`
    std::string_view stored_insert_table_;
};

} // namespace nimbus::store::sql
