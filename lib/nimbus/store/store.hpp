#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nimbus/audit/model.hpp>
#include <nimbus/catalogue/model.hpp>
#include <nimbus/context/model.hpp>
#include <nimbus/directory/model.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/sessions/model.hpp>
#include <nimbus/util/time.hpp>
#include <nimbus/util/zone.hpp>

/// The store interface. Every statement of SQL lives behind it, in one backend
/// per engine, so commands never change when an engine is added.
namespace nimbus::store {

/// The caller as a database server knows them (PostgreSQL's session_user).
struct ServerCaller {
    std::string login;     ///< the role the connection authenticated as
    bool enforced = false; ///< a roster is stored: the server enforces the role table
    bool owner = false;    ///< the caller owns the store's tables (ran init)
};

/// One grant of a stored person: what the identity file's lists hold.
struct PersonGrant {
    std::string role;       ///< "ou_admin", "owner", "supervisor" or "member"
    std::string target;     ///< the OU path or service name as written
    std::string target_key; ///< its case-folded key, as ou.path_key and service.name_key
    bool operator==(const PersonGrant&) const = default;
};

/// One person of a stored roster: an identity file's `[users.LOGIN]`.
struct Person {
    std::string login; ///< the database role they connect as
    std::string name;
    std::string email;
    bool tenant_admin = false;
    std::vector<PersonGrant> grants; ///< in the identity file's order, role by role
    bool operator==(const Person&) const = default;
};

/// One rule of the role table as a server holds it (role_rule).
struct RoleRule {
    std::string action;  ///< policy::Rule::id
    unsigned roles = 0;  ///< policy::Role bits
    std::string audited; ///< the audit actions it writes, space-separated
    bool operator==(const RoleRule&) const = default;
};

/// Which codes `ReadTransaction::codes` returns.
struct CodeFilter {
    std::optional<CodeType> type;
    bool include_deleted = false;
};

/// Which audit entries `ReadTransaction::audit_entries` returns, oldest first.
struct AuditFilter {
    std::optional<Timestamp> since;
    std::optional<std::string> target; ///< only records of this target, as written
    std::optional<std::int64_t> ou_id; ///< only records filed under this OU
    std::optional<std::string> user;   ///< matches the user acted as or the admin acting
};

struct NewOu {
    std::optional<std::int64_t> parent_id;
    std::string name;
    std::string path;
    std::string path_key;
    Timestamp created_at{};
};

struct NewCode {
    CodeType type = CodeType::Primary;
    std::string name;
    std::string name_key;
    std::string description;
    std::int64_t ou_id = 0;
    Timestamp created_at{};
};

struct NewService {
    std::string name;
    std::string name_key;
    std::int64_t ou_id = 0;
    License license = License::BasicRouting;
    Timestamp created_at{};
};

/// Which sessions `ReadTransaction::sessions` returns, newest first.
struct SessionQuery {
    /// Visibility: every session, or those of `service_ids` plus those whose
    /// user is `own_user`.
    bool everything = false;
    std::vector<std::int64_t> service_ids;
    std::string own_user;
    // Filters.
    bool only_own = false;         ///< only sessions whose user is `own_user`
    std::optional<bool> concluded; ///< only concluded (true) or open (false) ones
    std::optional<std::int64_t> service_id;
    std::optional<Timestamp> since;    ///< started at or after
    std::optional<Timestamp> before;   ///< started before
    std::optional<std::string> caller; ///< only sessions with this caller, as stored
    /// Only open sessions past their service's after-call work deadline at
    /// this time (of calls that ended since the policy, in services with
    /// codes-and-tags on), the longest overdue first instead of the newest.
    std::optional<Timestamp> overdue_at;
    /// Only sessions whose id is greater, in id order: a long walk resumed
    /// where the last batch ended, each batch an index range.
    std::optional<std::int64_t> after_id;
    std::optional<std::int64_t> limit;
};

/// Only sessions whose context has this value for this field.
struct ContextMatch {
    std::int64_t field_id = 0;
    std::string value;
};

/// A usage report's question, in store terms: which sessions, how to group.
struct UsageQuery {
    std::vector<std::int64_t> service_ids; ///< sessions of these services only
    Timestamp from{};                      ///< started at or after
    Timestamp to{};                        ///< started before
    /// The zone's UTC offsets over [from, to), to cut local days.
    std::vector<OffsetSpan> offsets;
    bool by_day = false;
    bool by_service = false;
    bool by_user = false;
    bool by_type = false;
    bool by_code = false;
    bool by_tag = false;
    /// Group by the value of this context field ("" for sessions without one).
    std::optional<std::int64_t> by_context;
    /// Group by who concluded: "agent", or "default" for a sweep ("" for
    /// sessions without a conclusion).
    bool by_concluded_by = false;
    bool current_names = false; ///< today's code names instead of those at the time
    /// Counts the sessions themselves, never the rollups the store keeps.
    bool recount = false;
    std::optional<std::string> user;
    std::optional<CodeType> type;       ///< count only codes of this type
    std::vector<std::int64_t> code_ids; ///< count only these codes (empty: all)
    std::vector<std::string> tag_keys;  ///< count only sessions with one of these tags
    std::vector<ContextMatch> context;  ///< only sessions with all of these values
};

/// One group of a usage report: concluded sessions that carry the item.
struct UsageCount {
    std::int64_t day = 0; ///< local days since 1970-01-01 (by_day)
    std::int64_t service_id = 0;
    std::string user;
    std::string context;      ///< the by_context field's value
    std::string concluded_by; ///< by_concluded_by: "agent" or "default"
    CodeType type = CodeType::Primary;
    std::int64_t code_id = 0;
    std::string code_name;
    std::string tag_key; ///< case-folded
    std::string tag;     ///< one spelling of it
    std::int64_t sessions = 0;
};

/// Sessions of one group of a usage report, concluded or not.
struct SessionCount {
    std::int64_t day = 0;
    std::int64_t service_id = 0;
    std::string user;
    std::string context; ///< the by_context field's value
    std::int64_t total = 0;
    std::int64_t concluded = 0;
    std::int64_t retroactive = 0;
    std::int64_t by_default = 0; ///< concluded by a sweep
};

/// The concluded sessions of one service that a suggestion counts.
struct UsageSample {
    std::int64_t service_id = 0;
    std::optional<std::string> user;   ///< only this agent's sessions
    std::optional<std::string> caller; ///< only sessions with this caller, as stored
    std::optional<Timestamp> since;    ///< started at or after
    std::optional<Timestamp> before;   ///< started before
    std::int64_t except_session = 0;   ///< leaves this session out (0: none)
};

/// How many sessions of a sample carry a code (code_id) or a spelling of a
/// tag (tag_key and tag).
struct ItemCount {
    std::int64_t code_id = 0;
    std::string tag_key;
    std::string tag;
    std::int64_t sessions = 0;
};

/// One context value of one session.
struct SessionContextValue {
    std::int64_t session_id = 0;
    ContextValue value;
};

/// Which sessions an export covers.
struct ExportQuery {
    std::vector<std::int64_t> service_ids;
    std::optional<Timestamp> from; ///< started at or after
    std::optional<Timestamp> to;   ///< started before
};

/// One code of one conclusion, for the export's session_codes table.
struct ConcludedCodeRow {
    std::int64_t session_id = 0;
    std::int64_t position = 0;
    ConcludedCode code;
};

/// One tag of one conclusion, for the export's session_tags table.
struct ConcludedTagRow {
    std::int64_t session_id = 0;
    std::int64_t position = 0;
    std::string tag;     ///< as the agent spelt it
    std::string tag_key; ///< case-folded: what reports group by
};

struct NewConclusion {
    std::int64_t session_id = 0;
    Conclusion conclusion;
    std::vector<std::string> tag_keys; ///< case-folded, one per tag
};

/// A service's after-call work policy as stored, its codes by id.
struct StoredWrapUp {
    std::int64_t service_id = 0;
    std::int64_t deadline_seconds = 0;
    std::int64_t default_primary = 0;
    std::optional<std::int64_t> default_secondary;
    Timestamp effective_from{};
};

struct NewAuditEntry {
    Timestamp at{};
    std::string user;
    std::optional<std::string> via;
    std::optional<std::int64_t> ou_id;
    std::string action;
    std::string target;
    std::string before; ///< JSON text or empty
    std::string after;  ///< JSON text or empty
};

/// A value of a stored row: SQL NULL, an integer or text.
using StoredValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

/// One row of one of the store's tables, exactly as stored, for copying a
/// whole store to another engine. The values are in the table's column order.
struct StoredRow {
    std::string_view table;
    std::vector<StoredValue> values;
};

/// A schema object that keeps the store's rules (a table's definition, an
/// index, a constraint, a trigger, a trigger's function) as the engine
/// describes it, with the store's own schema name left out.
struct Guard {
    std::string kind;  ///< "table", "index", "constraint", "trigger" or "function"
    std::string table; ///< the table it belongs to; empty for a function
    std::string name;
    std::string definition;

    auto operator<=>(const Guard&) const = default;
};

/// How a store's guard differs from its schema's.
struct GuardDifference {
    enum class Kind {
        Missing, ///< the schema defines it; the store lacks it
        Changed, ///< both have it, defined differently (or, a trigger, disabled)
        Added,   ///< on one of the store's tables, but not in the schema
    };
    Kind kind;
    Guard guard;                  ///< the schema's, or for Added the store's
    std::string describe() const; ///< "trigger session_keys_are_fixed on session is missing"
};

/// What a ledger entry chains: a conclusion with its codes, tags and the
/// session's call data; the end of a call that arrived after its conclusion;
/// an audit record.
enum class LedgerKind { Conclusion, Completion, Audit };

/// One entry of the ledger as stored, in hexadecimal.
struct LedgerEntry {
    std::int64_t position = 0; ///< 1, 2, ... in commit order
    LedgerKind kind = LedgerKind::Audit;
    std::int64_t record_id = 0; ///< the session's id, or the audit record's
    std::string session;        ///< the session's external id; empty for audit records
    std::string record_hash;    ///< SHA-256 of the record's canonical form
    std::string chain_hash;     ///< SHA-256 of the previous chain hash and record_hash
    /// The record's hash computed afresh from its rows as they are now
    /// (when asked for); nullopt when the record is gone.
    std::optional<std::string> recomputed_hash;
};

/// The end of the chain: how many entries, and the last one's chain hash
/// (empty when there are none).
struct LedgerHead {
    std::int64_t records = 0;
    std::string hash;
};

/// A row of a permanent record that no ledger entry covers.
struct UnchainedRow {
    std::string table;
    std::int64_t id = 0; ///< the audit record's id, or the session's
    std::string session; ///< the session's external id, if it has one
};

/// A consistent read-only view of the store. Destroying it ends the transaction.
class ReadTransaction {
public:
    virtual ~ReadTransaction() = default;

    /// The store's schema objects as the engine has them now (see Guard).
    virtual std::vector<Guard> guards() = 0;

    virtual std::vector<Ou> ous() = 0; ///< every OU, ordered by path key
    virtual std::optional<Ou> find_ou(std::string_view path_key) = 0;
    virtual std::optional<Ou> root_ou() = 0;

    virtual std::vector<Code> codes(const CodeFilter& filter) = 0;
    virtual std::optional<Code> find_code(std::int64_t id) = 0;
    /// Codes of either type, deleted or not, whose case-folded name is `name_key`.
    virtual std::vector<Code> find_codes_by_name(std::string_view name_key) = 0;
    /// Each name (with the code and its type) that conclusions recorded, once:
    /// the names codes had when they were used, before any rename.
    virtual std::vector<ConcludedCode> concluded_code_names() = 0;

    virtual std::vector<Service> services() = 0; ///< every service, ordered by name key
    virtual std::optional<Service> find_service(std::string_view name_key) = 0;
    /// The codes on a service's primary or secondary list, in the order agents see them.
    virtual std::vector<Code> service_codes(std::int64_t service_id, CodeType list) = 0;
    /// The names of the features enabled for a service, in any order.
    virtual std::vector<std::string> enabled_features(std::int64_t service_id) = 0;
    /// The service's after-call work policy, if it has one.
    virtual std::optional<StoredWrapUp> wrap_up(std::int64_t service_id) = 0;
    /// The services that have `code_id` on one of their lists.
    virtual std::vector<Service> services_listing(std::int64_t code_id) = 0;

    virtual std::vector<OutcomeInfo> outcomes() = 0; ///< in the product's order
    /// The sessions, of any service, whose external id is one of
    /// `external_ids` (an id is unique in its service only), with their
    /// service's name and OU and their conclusion, codes and tags included;
    /// in no order. Who may see which of them is the caller's business.
    virtual std::vector<Session>
    sessions_with_external_ids(const std::vector<std::string>& external_ids) = 0;
    /// Sessions matching `query`, newest first; conclusions carry no codes or tags.
    virtual std::vector<Session> sessions(const SessionQuery& query) = 0;

    /// Concluded sessions carrying each code or tag, grouped as the query says.
    /// Streamed, like the next one: a report holds only its own groups, never
    /// the store's (by month, the store gives one group per day).
    virtual void each_usage_count(const UsageQuery& query,
                                  const std::function<void(const UsageCount&)>& visit) = 0;
    /// All sessions, concluded sessions and retroactive ones, grouped by the
    /// query's day, service and user (item filters do not apply).
    virtual void each_session_count(const UsageQuery& query,
                                    const std::function<void(const SessionCount&)>& visit) = 0;

    /// The concluded sessions of a sample, and how many of them carry each code.
    virtual std::int64_t concluded_sessions(const UsageSample& sample) = 0;
    virtual std::vector<ItemCount> code_counts(const UsageSample& sample) = 0;
    /// How many sessions of a sample carry each spelling of each tag.
    virtual std::vector<ItemCount> tag_counts(const UsageSample& sample) = 0;

    /// Streams the sessions of an export (conclusions without codes or tags), by id.
    virtual void each_session(const ExportQuery& query,
                              const std::function<void(const Session&)>& visit) = 0;
    virtual void each_concluded_code(const ExportQuery& query,
                                     const std::function<void(const ConcludedCodeRow&)>& visit) = 0;
    virtual void each_concluded_tag(const ExportQuery& query,
                                    const std::function<void(const ConcludedTagRow&)>& visit) = 0;
    /// Streams the context values of an export's sessions, by session and field.
    virtual void
    each_session_context(const ExportQuery& query,
                         const std::function<void(const SessionContextValue&)>& visit) = 0;

    virtual std::vector<AuditEntry> audit_entries(const AuditFilter& filter) = 0;

    /// Streams every row of every table but the static outcome table, table by
    /// table in an order in which they can be inserted (referenced rows first),
    /// each table's rows by key. The visitor may throw to stop.
    virtual void each_stored_row(const std::function<void(const StoredRow&)>& visit) = 0;

    /// The ledger's last entry.
    virtual LedgerHead ledger_head() = 0;
    /// Up to `limit` entries after position `after`, in order; with
    /// `recompute`, each with its record's hash computed from the rows now.
    virtual std::vector<LedgerEntry> ledger_entries(std::int64_t after, std::size_t limit,
                                                    bool recompute) = 0;
    /// Entries written but not chained yet: on a server whose writers do not
    /// wait for one another, the writes made while someone was chaining.
    virtual std::int64_t pending_ledger_entries() = 0;
    /// The positions of the entries that hold this record hash.
    virtual std::vector<std::int64_t> ledger_positions_of(std::string_view record_hash) = 0;
    /// The first row of a permanent record that the ledger does not cover: a
    /// conclusion or audit record without an entry, or a code or tag of a
    /// session that has no conclusion.
    virtual std::optional<UnchainedRow> first_unchained_row() = 0;

    /// Every OU's directory, by OU path, with its number of entries.
    virtual std::vector<Directory> directories() = 0;
    /// The entries of one OU's directory, by number.
    virtual std::vector<DirectoryEntry> directory_entries(std::int64_t ou_id) = 0;
    /// The entries of any directory whose number is one of `numbers` (E.164).
    virtual std::vector<DirectoryEntry>
    directory_entries_with_numbers(const std::vector<std::string>& numbers) = 0;
    /// The countries of the directories: those in which callers are read.
    virtual std::vector<std::string> directory_countries() = 0;
    /// The readings stored of these callers, in any country.
    virtual std::vector<CallerNumber> caller_numbers(const std::vector<std::string>& callers) = 0;
    /// The callers of the sessions one may read that have no reading in
    /// `country` yet.
    virtual std::vector<std::string> callers_without_number(std::string_view country) = 0;
    /// Of these sessions, those one may read of a service with
    /// caller-information on that a directory serves (its OU's, or one above
    /// it), by session id; for each, its caller's entry in the nearest
    /// directory that knows them first. On a server that enforces the roles,
    /// for anyone who may read the sessions, whether or not they may read
    /// the directories.
    virtual std::vector<SessionCaller>
    session_callers(const std::vector<std::int64_t>& session_ids) = 0;

    /// Every context field, by its OU's path key and its name key.
    virtual std::vector<ContextField> context_fields() = 0;
    /// The context values of these sessions, by session id and field id.
    virtual std::vector<SessionContextValue>
    context_values(const std::vector<std::int64_t>& session_ids) = 0;
    /// True when some session carries a value of the field.
    virtual bool context_field_used(std::int64_t field_id) = 0;

    /// Who the server says the caller is; none on an engine without database
    /// roles (SQLite), where the operating system and the identity file decide.
    virtual std::optional<ServerCaller> server_caller() = 0;
    /// The stored roster (`identity push`), by login; empty when none is stored.
    virtual std::vector<Person> people() = 0;
    /// The role table the server enforces, by action.
    virtual std::vector<RoleRule> role_rules() = 0;
};

/// A read-write transaction, taken with the store's write lock at once (no
/// upgrade deadlocks). Nothing is kept unless commit() is called.
class WriteTransaction : public ReadTransaction {
public:
    virtual std::int64_t insert_ou(const NewOu& ou) = 0;

    /// Retires an OU at `at`, or restores it (none).
    virtual void set_ou_retired(std::int64_t id, std::optional<Timestamp> at) = 0;
    /// Deletes an OU that nothing names (the store refuses any other).
    virtual void delete_ou(std::int64_t id) = 0;

    virtual std::int64_t insert_code(const NewCode& code) = 0;
    virtual void update_code(std::int64_t id, std::string_view name, std::string_view name_key,
                             std::string_view description) = 0;
    virtual void mark_code_deleted(std::int64_t id, Timestamp at) = 0;

    virtual std::int64_t insert_service(const NewService& service) = 0;
    virtual void update_service(std::int64_t id, std::string_view name, std::string_view name_key,
                                License license) = 0;
    /// Retires a service at `at`, or restores it (none).
    virtual void set_service_retired(std::int64_t id, std::optional<Timestamp> at) = 0;
    /// Deletes a service without sessions or settings (the store refuses any other).
    virtual void delete_service(std::int64_t id) = 0;
    /// Replaces a service's primary or secondary list with `code_ids`, in that order.
    virtual void replace_service_codes(std::int64_t service_id, CodeType list,
                                       const std::vector<std::int64_t>& code_ids) = 0;
    virtual void set_feature(std::int64_t service_id, std::string_view feature, bool enabled) = 0;
    /// Sets a service's after-call work policy, or removes it (none).
    virtual void put_wrap_up(std::int64_t service_id,
                             const std::optional<StoredWrapUp>& policy) = 0;

    /// The stored sessions, of any service, among these external ids, with
    /// their id and call data and times (not their context, their service's
    /// name, nor their conclusion), in no order. One query for them all: an import looks its
    /// rows up a batch at a time, so that a server costs one round trip per
    /// batch, not one per row.
    virtual std::vector<Session> find_sessions(const std::vector<std::string>& external_ids) = 0;
    /// Inserts new sessions, in one statement per batch, with their context
    /// values and times; none of them may be stored with its service and external id
    /// (find_sessions says which are).
    virtual void insert_sessions(const std::vector<CallData>& calls) = 0;
    /// A hint that about `expected_rows` sessions follow (an import; 0 when
    /// unknown): the backend may use more memory, bounded, or defer index work
    /// to commit, to write them faster.
    virtual void expect_bulk_writes(std::size_t expected_rows) = 0;
    /// Fills in the end of an active call, with its times if the export gives
    /// them; for a concluded session, the end is chained into the ledger.
    virtual void complete_session(std::int64_t id, Timestamp ended_at, std::string_view outcome,
                                  const CallTimes& times) = 0;
    /// Stores a conclusion and chains it into the ledger.
    virtual void insert_conclusion(const NewConclusion& conclusion) = 0;

    /// Stores an audit record and chains it into the ledger.
    virtual void append_audit(const NewAuditEntry& entry) = 0;

    /// Chains every conclusion and audit record that has no ledger entry, in
    /// the order they were written (by time, a conclusion before the audit
    /// record of its command, then by id), and gives how many. Only for a
    /// store that `init` upgrades to the ledger's schema: at any other time
    /// such a record was slipped in and must stay out of the chain.
    virtual std::int64_t chain_unchained_records() = 0;

    /// Inserts a row read by another store's `each_stored_row`, ids and all,
    /// in that order; the store's own rules (keys, checks, the permanence of
    /// conclusions) hold as for any insert. Nothing else runs in the
    /// transaction until `stored_rows_inserted` (an engine may stream the rows).
    virtual void insert_stored_row(const StoredRow& row) = 0;
    /// After the last `insert_stored_row`: ids generated from now on follow
    /// the copied ones.
    virtual void stored_rows_inserted() = 0;

    /// Puts the guards back as the schema defines them: creates what is
    /// missing, re-creates what was changed, drops what was added to the
    /// store's tables. A table itself cannot be put back (Config).
    virtual void restore_guards(const std::vector<GuardDifference>& differences) = 0;

    /// Creates an OU's directory, or sets its country and time of import.
    virtual void put_directory(std::int64_t ou_id, std::string_view country,
                               Timestamp imported_at) = 0;
    /// Removes an OU's directory and all its entries.
    virtual void delete_directory(std::int64_t ou_id) = 0;
    virtual void insert_directory_entry(const DirectoryEntry& entry) = 0;
    /// Replaces the entry with the same OU and number.
    virtual void update_directory_entry(const DirectoryEntry& entry) = 0;
    virtual void delete_directory_entry(std::int64_t ou_id, std::string_view number) = 0;
    /// Stores readings of callers; a caller already read in a country keeps
    /// its reading.
    virtual void insert_caller_numbers(const std::vector<CallerNumber>& readings) = 0;

    /// Stores a new context field (its id is ignored) and gives its id.
    virtual std::int64_t insert_context_field(const ContextField& field) = 0;
    /// Sets a field's name, type, choices and description, by id.
    virtual void update_context_field(const ContextField& field) = 0;
    virtual void delete_context_field(std::int64_t id) = 0;

    /// Replaces the stored roster, whole. Only for an engine with
    /// server_caller(); the server refuses it to all but tenant admins (and
    /// the owner) once a roster is stored.
    virtual void replace_people(const std::vector<Person>& people) = 0;
    /// Replaces the role table the server enforces (the owner's, at `init`).
    virtual void replace_role_rules(const std::vector<RoleRule>& rules) = 0;

    virtual void commit() = 0;
};

/// An open store.
class Store {
public:
    virtual ~Store() = default;

    /// Where the store lives, for messages ("/home/a/.local/share/nimbus-codes/store.db").
    virtual const std::string& location() const = 0;
    virtual int schema_version() const = 0;

    virtual std::unique_ptr<ReadTransaction> begin_read() = 0;
    virtual std::unique_ptr<WriteTransaction> begin_write() = 0;
};

} // namespace nimbus::store
