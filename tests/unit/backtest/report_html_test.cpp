// The HTML reports in a real browser: headless Chromium loads each page from a
// file (no network), the page's own script reports in #te-status what it drew
// and any error, and we keep screenshots in build/test-artifacts/.
//
// Chromium is installed by scripts/setup.sh (Debian package `chromium`). The
// test is skipped only where that package cannot be installed at all (apt has
// no candidate for it); anywhere else a missing browser is a failure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "engine/core/value_json.hpp"
#include "tests/support/png_reader.hpp"
#include "tests/support/temp_files.hpp"

using te::test::CliRun;
using te::test::read_file;
using te::test::run_cli;
using te::test::TempDir;

namespace {

const std::string kNvda = TE_SHARED_DIR "/data/nvda-1999-2014.txt";

std::string chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(p)) return p;
  return {};
}

// True when apt knows no installable `chromium` (e.g. an architecture or
// distribution without the package): then, and only then, the test is skipped.
bool chromium_uninstallable(const TempDir& dir) {
  const std::string out = dir.file("apt-policy.txt");
  const int rc = std::system(("apt-cache policy chromium >" + out + " 2>&1").c_str());
  const std::string text = read_file(out);
  if (rc != 0) return false;  // no apt at all: not a Debian machine we know how to set up; fail loudly
  return text.find("Candidate:") == std::string::npos || text.find("Candidate: (none)") != std::string::npos;
}

std::string artifacts_dir() {
  const auto dir = std::filesystem::path(TE_BINARY).parent_path() / "test-artifacts";
  std::filesystem::create_directories(dir);
  return dir.string();
}

struct Page {
  std::string html;        // the report file
  std::string screenshot;  // empty: DOM only
  std::string dom, log;    // outputs
};

// Loads every page at once (one browser process each, run in parallel: start-up
// dominates on a busy machine) with a fresh profile, no network services.
void load_pages(const TempDir& dir, std::vector<Page>& pages) {
  const std::string bin = chromium();
  std::string script;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    Page& p = pages[i];
    const std::string profile = dir.file("profile" + std::to_string(i));
    p.dom = dir.file("dom" + std::to_string(i) + ".html");
    p.log = dir.file("chromium" + std::to_string(i) + ".log");
    std::string flags = " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                        " --disable-background-networking --disable-component-update --disable-sync"
                        " --disable-default-apps --disable-extensions --hide-scrollbars --mute-audio"
                        " --enable-logging=stderr --v=0 --virtual-time-budget=10000 --user-data-dir=" + profile;
    script += "(timeout 180 " + bin + flags + " --dump-dom file://" + p.html + " >" + p.dom + " 2>" + p.log;
    if (!p.screenshot.empty())
      script += "; timeout 180 " + bin + flags + "-shot --window-size=1280,2600 --screenshot=" + p.screenshot +
                " file://" + p.html + " >/dev/null 2>>" + p.log;
    script += ") & ";
  }
  script += "wait";
  REQUIRE(std::system(script.c_str()) == 0);
}

std::string attr(const std::string& dom, const std::string& name) {
  const std::regex re("id=\"te-status\"[^>]*" + name + "=\"([^\"]*)\"");
  std::smatch m;
  if (std::regex_search(dom, m, re)) return m[1];
  const std::regex re2(name + "=\"([^\"]*)\"[^>]*id=\"te-status\"");
  return std::regex_search(dom, m, re2) ? std::string(m[1]) : std::string("<missing>");
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The checks every page must pass: rendered, no error, no console output.
void check_page(const Page& p, const std::vector<std::string>& sections) {
  INFO(p.html);
  const std::string dom = read_file(p.dom);
  const std::string log = read_file(p.log);
  INFO("chromium log:\n" << log.substr(0, 4000));
  REQUIRE(dom.find("id=\"te-status\"") != std::string::npos);
  CHECK(dom.find("data-render=\"ok\"") != std::string::npos);
  CHECK(attr(dom, "data-errors") == "0");
  // The page logs nothing: any console line is an uncaught error or a CSP violation.
  CHECK(log.find("CONSOLE") == std::string::npos);
  CHECK(log.find("Uncaught") == std::string::npos);
  std::string ids = " ";
  ids += attr(dom, "data-section-ids");
  ids += " ";
  for (const auto& s : sections) {
    INFO("section " << s);
    CHECK(ids.find(" " + s + " ") != std::string::npos);
  }
  if (!p.screenshot.empty()) {
    REQUIRE(std::filesystem::exists(p.screenshot));
    CHECK(std::filesystem::file_size(p.screenshot) > 20000);  // a real picture, not a blank page
  }
}

// The screenshot is the requested window, with the page drawn: the header's
// dark band at the top, the light page background and white section cards
// below it, and many distinct colours (charts), not a blank or error page.
void check_screenshot(const std::string& path) {
  INFO("screenshot " << path);
  const te::test::Png png = te::test::decode_png(read_file(path));
  REQUIRE(png.error.empty());
  CHECK(png.width == 1280);
  CHECK(png.height == 2600);
  const auto near = [](te::test::Png::Rgb c, int r, int g, int b) {
    return std::abs(c.r - r) <= 6 && std::abs(c.g - g) <= 6 && std::abs(c.b - b) <= 6;
  };
  const auto header = png.at(1270, 6);  // header background #111827, right edge (no text)
  INFO("header pixel " << header.r << "," << header.g << "," << header.b);
  CHECK(near(header, 0x11, 0x18, 0x27));
  std::size_t white = 0, light = 0;
  std::vector<std::uint32_t> colours;
  for (std::uint32_t y = 100; y < png.height; y += 7)
    for (std::uint32_t x = 0; x < png.width; x += 7) {
      const auto c = png.at(x, y);
      white += near(c, 255, 255, 255);
      light += near(c, 0xf6, 0xf7, 0xf9);
      const std::uint32_t key = static_cast<std::uint32_t>((c.r >> 3) << 10 | (c.g >> 3) << 5 | (c.b >> 3));
      if (colours.size() < 4096 && std::find(colours.begin(), colours.end(), key) == colours.end()) colours.push_back(key);
    }
  CHECK(white > 1000);   // section cards
  CHECK(light > 100);    // page background between them
  CHECK(colours.size() > 40);  // charts and heat maps, not flat colour
}

// The attribute-free spans of the summary grid in the rendered DOM, in order:
// label, value, label, value, ...
std::vector<std::pair<std::string, std::string>> kv_rows(const std::string& dom, const std::string& grid_id_or_first) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = dom.find(grid_id_or_first);
  if (at == std::string::npos) return out;
  const std::size_t end = dom.find("</section>", at);
  const std::regex re("<div class=\"kv\"[^>]*><span>([^<]*)</span><span>([^<]*)</span></div>");
  for (std::sregex_iterator it(dom.begin() + static_cast<std::ptrdiff_t>(at), dom.begin() + static_cast<std::ptrdiff_t>(end), re), e;
       it != e; ++it)
    out.emplace_back((*it)[1], (*it)[2]);
  return out;
}

std::string unescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}})
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("HTML reports render in headless Chromium without errors", "[backtest][html][browser]") {
  TempDir dir;
  if (chromium().empty() && chromium_uninstallable(dir)) {
    WARN("apt has no installable chromium package on this machine: browser test skipped");
    return;
  }
  if (chromium().empty()) FAIL("chromium is missing: run scripts/setup.sh (it installs the Debian package `chromium`)");
  const std::string art = artifacts_dir();

  // A real backtest (NVDA, backtrader's SMA cross rules) and its companions.
  const std::string bt = "backtest -q --strategy strategies/sma_cross.lua --data " + kNvda +
                         " --cash 100000 --commission 0.001 --param stake=1000 --out ";
  CliRun r = run_cli(dir, bt + dir.file("bt"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(run_cli(dir, "backtest -q --no-html --strategy strategies/ema_cross.lua --data " + kNvda +
                           " --commission 0.001 --out " + dir.file("ema"))
              .code == 0);
  REQUIRE(run_cli(dir, "compare-backtests -q " + dir.file("bt") + " " + dir.file("ema") + " --out " + dir.file("cmp.html")).code == 0);
  REQUIRE(run_cli(dir, "monte-carlo -q " + dir.file("bt") + " --runs 200 --seed 3").code == 0);
  r = run_cli(dir, "optimize -q --strategy strategies/sma_cross.lua --data " + kNvda +
                       " --grid fast=5:25:5 --grid slow=30:60:10 --param stake=100 --commission 0.001 --monte-carlo 100"
                       " --out " + dir.file("opt"));
  INFO(r.err);
  REQUIRE(r.code == 0);
  r = run_cli(dir, "optimize -q --strategy strategies/sma_cross.lua --data " + kNvda +
                       " --grid fast=5,10 --grid slow=30,50 --param stake=100 --method walk-forward --train 4y --test 2y"
                       " --monte-carlo 0 --out " + dir.file("wf"));
  INFO(r.err);
  REQUIRE(r.code == 0);

  // The backtest report's data: every trade, exact prices.
  const std::string html = read_file(dir.file("bt/report.html"));
  CHECK(html.find("<script src") == std::string::npos);  // self-contained
  std::string no_ns = html;  // the SVG namespace is a name, not a request
  for (auto at = no_ns.find("http://www.w3.org/2000/svg"); at != std::string::npos; at = no_ns.find("http://www.w3.org/2000/svg"))
    no_ns.erase(at, 26);
  CHECK(no_ns.find("http://") == std::string::npos);
  CHECK(no_ns.find("https://") == std::string::npos);
  CHECK(no_ns.find("fetch(") == std::string::npos);
  CHECK(no_ns.find("XMLHttpRequest") == std::string::npos);
  CHECK(count(html, "\"signal\"]") == 73);  // backtrader's 73 round trips

  std::vector<Page> pages = {
      {dir.file("bt/report.html"), art + "/backtest-report.png", "", ""},
      {dir.file("opt/report.html"), art + "/optimization-report.png", "", ""},
      {dir.file("wf/report.html"), "", "", ""},
      {dir.file("bt/monte_carlo.html"), "", "", ""},
      {dir.file("cmp.html"), art + "/comparison-report.png", "", ""},
  };
  load_pages(dir, pages);
  check_page(pages[0], {"metrics", "charts", "monthly", "distribution", "trades", "activity"});
  check_screenshot(pages[0].screenshot);
  const std::string dom = read_file(pages[0].dom);
  // Orders, risk and faults: 146 orders (73 round trips), their table drawn.
  CHECK(dom.find("id=\"orders-table\"") != std::string::npos);
  CHECK(dom.find("id=\"rejections-table\"") != std::string::npos);
  CHECK(dom.find("id=\"risk-table\"") != std::string::npos);
  CHECK(dom.find("id=\"errors-table\"") != std::string::npos);
  CHECK(dom.find("<h3>Orders (146)</h3>") != std::string::npos);
  // The summary grid the browser drew shows exactly the report's metric texts.
  {
    const std::string html_text = read_file(dir.file("bt/report.html"));
    const std::string open = "<script type=\"application/json\" id=\"te-data\">";
    const auto a = html_text.find(open), b = html_text.find("</script>", a);
    auto page = te::parse_json(html_text.substr(a + open.size(), b - a - open.size()));
    REQUIRE(page.ok());
    const auto& metrics = page->find("metrics")->as_array();
    const auto shown = kv_rows(dom, "<section id=\"metrics\">");
    REQUIRE(shown.size() == metrics.size());
    for (std::size_t i = 0; i < shown.size(); ++i) {
      CHECK(unescape(shown[i].first) == metrics[i].as_array()[0].as_string());
      CHECK(unescape(shown[i].second) == metrics[i].as_array()[1].as_string());
    }
  }
  CHECK(std::stoi(attr(dom, "data-charts")) >= 3);  // navigator, price/equity/drawdown, histogram
  CHECK(count(dom, "class=\"entry\"") == 73);       // every entry marked on the price chart
  CHECK(count(dom, "class=\"exit\"") == 73);
  CHECK(dom.find("id=\"monthly-table\"") != std::string::npos);
  CHECK(count(dom, "<tr>") > 50);  // metrics, monthly rows, first page of trades
  check_page(pages[1], {"summary", "guards", "stability", "marginals", "best-equity", "top"});
  CHECK(count(read_file(pages[1].dom), "<rect") > 20);  // heatmap cells
  check_page(pages[2], {"summary", "oos-equity", "windows", "is-oos"});
  check_page(pages[3], {"summary", "mc-trade-shuffle", "mc-trade-bootstrap", "mc-bar-bootstrap"});
  check_page(pages[4], {"metrics", "equity", "drawdown"});
  check_screenshot(pages[4].screenshot);
  const std::string cmp = read_file(pages[4].dom);
  CHECK(count(cmp, "<polyline") + count(cmp, "<path") >= 4);  // two runs, equity and drawdown each
}
