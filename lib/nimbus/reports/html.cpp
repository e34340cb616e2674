#include <nimbus/reports/html.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace nimbus::reports {
namespace {

// Colours people tell apart: Tableau 10, the 10th (grey) reserved for
// "Other" once there are more codes than colours. A chart of more codes shows
// the most used ones and draws the rest as one "Other" stack, so that no two
// codes ever share a colour (see chart_data).
constexpr const char* palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr std::size_t colours = std::size(palette);

std::size_t column(const output::Rows& rows, std::string_view key) {
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
        if (rows.columns[i].key == key) {
            return i;
        }
    }
    return rows.columns.size();
}

std::string cell(const output::Cell& c) {
    if (const auto* share = std::get_if<output::Fraction>(&c)) {
        return fmt::format("{:.1f}%", std::round(share->value * 1000.0) / 10.0);
    }
    return output::cell_text(c);
}

/// One stack of the chart: a code, or "Other" for the codes beyond the palette.
struct Series {
    std::string label;
    std::string colour;
    std::vector<std::string> members; ///< the codes drawn as "Other"
};

/// "Bars" of a stacked chart: per month, sessions per series, in legend order.
struct Chart {
    std::vector<std::string> months;
    std::vector<Series> series; ///< legend, in the report's order ("Other" last)
    std::map<std::pair<std::string, std::size_t>, std::int64_t> values; ///< (month, series)
};

Chart chart_data(const UsageReport& by_month, CodeType type) {
    const output::Rows& rows = by_month.rows;
    const std::size_t month = column(rows, "month");
    const std::size_t code = column(rows, "code");
    const std::size_t code_id = column(rows, "code_id");
    const std::size_t kind = column(rows, "type");
    const std::size_t sessions = column(rows, "sessions");
    // Codes by id, in the report's order: with names at the time, a code
    // renamed within the period has rows under two names, yet is one code.
    struct CodeUse {
        std::int64_t id = 0;
        std::vector<std::string> names; ///< as the report has them, in the order they come
        std::int64_t total = 0;

        std::string label() const {
            std::string text;
            for (const std::string& name : names) {
                text += (text.empty() ? "" : " / ") + name;
            }
            return text;
        }
    };
    std::vector<CodeUse> codes;
    std::vector<std::tuple<std::string, std::size_t, std::int64_t>> cells; // month, code, sessions
    Chart chart;
    for (const auto& row : rows.rows) {
        if (output::cell_text(row[kind]) != to_string(type)) {
            continue;
        }
        const std::string m = output::cell_text(row[month]);
        const std::int64_t id = std::get<std::int64_t>(row[code_id]);
        const std::int64_t value = std::get<std::int64_t>(row[sessions]);
        if (std::find(chart.months.begin(), chart.months.end(), m) == chart.months.end()) {
            chart.months.push_back(m);
        }
        auto found =
            std::find_if(codes.begin(), codes.end(), [&](const CodeUse& c) { return c.id == id; });
        if (found == codes.end()) {
            found = codes.insert(codes.end(), CodeUse{id, {}, 0});
        }
        std::string name = output::cell_text(row[code]);
        if (std::find(found->names.begin(), found->names.end(), name) == found->names.end()) {
            found->names.push_back(std::move(name));
        }
        found->total += value;
        cells.emplace_back(m, static_cast<std::size_t>(found - codes.begin()), value);
    }
    std::sort(chart.months.begin(), chart.months.end());

    // As many codes as colours: all of them. More: the most used ones (ties
    // in the report's order), one colour short, and "Other" for the rest.
    std::vector<bool> shown(codes.size(), true);
    if (codes.size() > colours) {
        std::vector<std::size_t> order(codes.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return codes[a].total > codes[b].total;
        });
        for (std::size_t rank = colours - 1; rank < order.size(); ++rank) {
            shown[order[rank]] = false;
        }
    }
    std::vector<std::size_t> series_of(codes.size());
    Series other{"Other", palette[colours - 1], {}};
    for (std::size_t i = 0; i < codes.size(); ++i) {
        if (shown[i]) {
            series_of[i] = chart.series.size();
            chart.series.push_back(Series{codes[i].label(), palette[chart.series.size()], {}});
        } else {
            other.members.push_back(codes[i].label());
        }
    }
    if (!other.members.empty()) {
        for (std::size_t i = 0; i < codes.size(); ++i) {
            if (!shown[i]) {
                series_of[i] = chart.series.size();
            }
        }
        other.label = fmt::format("Other ({} codes)", other.members.size());
        chart.series.push_back(std::move(other));
    }
    for (const auto& [m, c, value] : cells) {
        chart.values[{m, series_of[c]}] += value;
    }
    return chart;
}

std::string svg(const Chart& chart, CodeType type) {
    constexpr int width = 760;
    constexpr int height = 320;
    constexpr int left = 56;
    constexpr int right = 16;
    constexpr int top = 16;
    constexpr int bottom = 40;
    const int plot_width = width - left - right;
    const int plot_height = height - top - bottom;

    std::int64_t highest = 0;
    for (const std::string& month : chart.months) {
        std::int64_t total = 0;
        for (std::size_t c = 0; c < chart.series.size(); ++c) {
            const auto it = chart.values.find({month, c});
            total += it == chart.values.end() ? 0 : it->second;
        }
        highest = std::max(highest, total);
    }
    // A round scale: 1, 2 or 5 times a power of ten per step, five steps or so.
    double step = 1;
    while (static_cast<double>(highest) / step > 5) {
        const double magnitude = std::pow(10.0, std::floor(std::log10(step)));
        step = step / magnitude < 2   ? 2 * magnitude
               : step / magnitude < 5 ? 5 * magnitude
                                      : 10 * magnitude;
    }
    const double scale_top = std::max(step, std::ceil(static_cast<double>(highest) / step) * step);
    const auto y_of = [&](double value) {
        return top + plot_height - value / scale_top * plot_height;
    };

    std::string out = fmt::format("<svg width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
                                  "role=\"img\" aria-label=\"{} code use per month\">\n",
                                  width, height, width, height, to_string(type));
    for (double tick = 0; tick <= scale_top + 1e-9; tick += step) {
        const double y = y_of(tick);
        out +=
            fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" class=\"grid\"/>\n",
                        left, y, width - right, y);
        out += fmt::format(
            "<text x=\"{}\" y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>\n", left - 6,
            y + 4, static_cast<std::int64_t>(tick));
    }
    const double band = chart.months.empty() ? plot_width
                                             : static_cast<double>(plot_width) /
                                                   static_cast<double>(chart.months.size());
    const double bar = std::min(band * 0.7, 80.0);
    for (std::size_t m = 0; m < chart.months.size(); ++m) {
        const double x = left + band * static_cast<double>(m) + (band - bar) / 2;
        double stacked = 0;
        for (std::size_t c = 0; c < chart.series.size(); ++c) {
            const auto it = chart.values.find({chart.months[m], c});
            const std::int64_t value = it == chart.values.end() ? 0 : it->second;
            if (value == 0) {
                continue;
            }
            const double y = y_of(stacked + static_cast<double>(value));
            const double h = y_of(stacked) - y;
            out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                               "fill=\"{}\"><title>{} {}: {}</title></rect>\n",
                               x, y, bar, h, chart.series[c].colour, html_escape(chart.months[m]),
                               html_escape(chart.series[c].label), value);
            stacked += static_cast<double>(value);
        }
        out += fmt::format(
            "<text x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{}</text>\n",
            x + bar / 2, height - bottom + 18, html_escape(chart.months[m]));
    }
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"axis\"/>\n", left,
                       top + plot_height, width - right, top + plot_height);
    out += "</svg>\n";
    return out;
}

} // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string usage_html(const UsageReport& table, const UsageReport& by_month, CodeType chart_type,
                       const std::vector<std::pair<std::string, std::string>>& filters) {
    const Chart chart = chart_data(by_month, chart_type);
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        "<title>Code usage</title>\n<style>\n"
        "body { font-family: sans-serif; color: #222; margin: 2em; max-width: 60em; }\n"
        "h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }\n"
        "table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; text-align: left; }\n"
        "th { border-bottom: 1px solid #888; } td.number { text-align: right; }\n"
        "tr:nth-child(even) td { background: #f3f3f3; }\n"
        "dl.filters { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }\n"
        "dl.filters dt { color: #555; } dl.filters dd { margin: 0; }\n"
        ".legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; "
        "}\n"
        ".swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; "
        "vertical-align: -0.1em; }\n"
        "svg .grid { stroke: #ddd; } svg .axis { stroke: #888; } svg .tick { font-size: 11px; "
        "fill: #555; }\n"
        "</style>\n</head>\n<body>\n<h1>Code usage</h1>\n";

    out += "<h2>Filters</h2>\n<dl class=\"filters\">\n";
    for (const auto& [name, value] : filters) {
        out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", html_escape(name), html_escape(value));
    }
    out += "</dl>\n";

    out +=
        fmt::format("<h2>Concluded sessions per {} code and month</h2>\n", to_string(chart_type));
    out += "<p>A session concluded with several codes counts once for each.</p>\n";
    out += svg(chart, chart_type);
    out += "<ul class=\"legend\">\n";
    for (const Series& series : chart.series) {
        out += fmt::format("<li><span class=\"swatch\" style=\"background: {}\"></span>{}</li>\n",
                           series.colour, html_escape(series.label));
    }
    out += "</ul>\n";
    if (!chart.series.empty() && !chart.series.back().members.empty()) {
        std::string members;
        for (const std::string& name : chart.series.back().members) {
            members += (members.empty() ? "" : ", ") + html_escape(name);
        }
        out += fmt::format("<p class=\"other\">Other: {} (the least used codes of the period, "
                           "drawn as one so that no two codes share a colour; the table below has "
                           "each of them).</p>\n",
                           members);
    }

    out += "<h2>Report</h2>\n<table>\n<thead><tr>";
    std::vector<bool> shown;
    std::vector<bool> numeric;
    for (const output::Column& col : table.rows.columns) {
        shown.push_back(col.audience != output::Audience::Programs);
        numeric.push_back(col.key == "sessions" || col.key == "share");
        if (shown.back()) {
            out += fmt::format("<th>{}</th>", html_escape(col.header));
        }
    }
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : table.rows.rows) {
        out += "<tr>";
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (shown[i]) {
                out += fmt::format("<td{}>{}</td>", numeric[i] ? " class=\"number\"" : "",
                                   html_escape(cell(row[i])));
            }
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table>\n";
    const Summary& s = table.summary;
    out += fmt::format("<p>{} to {} ({}): {} sessions, {}, {} unconcluded.</p>\n",
                       table.period.first.text(), table.period.last.text(), html_escape(table.zone),
                       s.total, s.concluded_text(), s.unconcluded);
    out += fmt::format("<p>Ledger head: {} records, <code>{}</code>.</p>\n", table.ledger.records,
                       table.ledger.hash);
    out += "</body>\n</html>\n";
    return out;
}

} // namespace nimbus::reports
