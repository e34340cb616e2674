#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nimbus/reports/usage.hpp>

namespace nimbus::reports {

/// One self-contained HTML page for people: a stacked bar chart of code use per
/// month (inline SVG), its legend, the filters used, the report's table and its
/// summary. Inline CSS only: no scripts, no external fonts, images or links.
/// Every piece of user text is escaped.
///
/// `table` is the report as asked for; `by_month` the same report by month and
/// code, which the chart draws (one code type, `chart_type`), one stack per
/// code id. No two codes share a colour: beyond ten codes, the nine most used
/// have their own and the rest are drawn as one "Other", named below the legend.
std::string usage_html(const UsageReport& table, const UsageReport& by_month, CodeType chart_type,
                       const std::vector<std::pair<std::string, std::string>>& filters);

/// `text` with &, <, >, " and ' replaced by character references.
std::string html_escape(std::string_view text);

} // namespace nimbus::reports
