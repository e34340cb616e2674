#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// The little of a SQL engine that the shared store code needs: statements with
/// positional `?` parameters, rows, and columns of three kinds. Each engine's
/// driver implements it and turns the engine's failures into nimbus::Error, so
/// the shared code handles no engine's exceptions.
namespace nimbus::store::sql {

/// A prepared statement. Parameters are numbered from 1, columns from 0.
class Statement {
public:
    virtual ~Statement() = default;

    virtual void bind(int index, std::int64_t value) = 0;
    /// The text is copied: a temporary may be bound.
    virtual void bind(int index, std::string_view text) = 0;
    virtual void bind_null(int index) = 0;

    /// Runs the statement at the first call; then moves to the next row.
    /// False when there is none (at once for statements without rows).
    virtual bool step() = 0;
    /// Ready to run again; the bindings stay until bound again.
    virtual void reset() = 0;

    virtual bool is_null(int column) const = 0;
    virtual std::int64_t integer(int column) const = 0;
    virtual std::string text(int column) const = 0;

    /// Runs a statement that returns no rows.
    void run() {
        step();
        reset();
    }
};

/// One connection to the store's database, used by one thread. One statement
/// runs at a time: step it to the end or reset it before running another.
class Connection {
public:
    virtual ~Connection() = default;

    virtual std::unique_ptr<Statement> prepare(std::string_view sql) = 0;
    /// Runs SQL without parameters or rows: one statement, or several
    /// separated by semicolons.
    virtual void execute(std::string_view sql) = 0;
};

/// A parameter's value, for SQL built piece by piece.
using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;

/// Binds one value to parameter `index`.
inline void bind_value(Statement& statement, int index, const Value& value) {
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
        statement.bind(index, *number);
    } else if (const auto* text = std::get_if<std::string>(&value)) {
        statement.bind(index, *text);
    } else {
        statement.bind_null(index);
    }
}

/// Binds `values` to parameters 1, 2, ...
inline void bind_all(Statement& statement, const std::vector<Value>& values) {
    int index = 1;
    for (const Value& value : values) {
        bind_value(statement, index++, value);
    }
}

} // namespace nimbus::store::sql
