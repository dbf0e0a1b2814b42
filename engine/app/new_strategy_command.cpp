// `trading-engine new-strategy NAME`: writes strategies/NAME.lua from one of
// the documented templates in lua/templates/ (compiled into the binary), each
// of which passes `validate` and backtests out of the box. Never overwrites.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "engine/app/command.hpp"
#include "engine/app/options.hpp"
#include "engine/script/embedded.hpp"

namespace te::app {
namespace {

constexpr std::string_view kTemplateDir = "lua/templates/";

struct NewStrategyArgs {
  std::string name, template_name = "crossover", dir = "strategies";
  bool list = false;
};

std::vector<std::pair<std::string, std::string_view>> templates() {
  std::vector<std::pair<std::string, std::string_view>> out;
  for (const auto& f : script::embedded_files()) {
    if (f.path.substr(0, kTemplateDir.size()) != kTemplateDir) continue;
    std::string name(f.path.substr(kTemplateDir.size()));
    name.resize(name.size() - 4);  // ".lua"
    out.emplace_back(std::move(name), f.text);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The template's first comment line after the name: "— what it does (from ...".
std::string summary(std::string_view text) {
  const auto dash = text.find("— ");
  if (dash == std::string_view::npos) return "";
  auto end = text.find(" (from", dash);
  if (end == std::string_view::npos) end = text.find('\n', dash);
  std::string s(text.substr(dash + 4, end - dash - 4));  // "— " is 4 bytes in UTF-8
  for (auto& c : s)
    if (c == '\n') c = ' ';
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {  // collapse the "-- " of wrapped lines
    if (s.compare(i, 4, " -- ") == 0) {
      out += ' ';
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 100 || n[0] == '-' || n[0] == '.') return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

int run_new_strategy(NewStrategyArgs a) {
  const auto all = templates();
  if (a.list) {
    for (const auto& [name, text] : all) std::printf("  %-16s %s\n", name.c_str(), summary(text).c_str());
    return 0;
  }
  if (a.name.empty()) return print_error("give the new strategy's name: new-strategy my_strategy"), 2;
  if (a.name.size() > 4 && a.name.compare(a.name.size() - 4, 4, ".lua") == 0) a.name.resize(a.name.size() - 4);
  if (!valid_name(a.name))
    return print_error(fmt::format("'{}' is not a usable name: use letters, digits, _ and - (it becomes {}/NAME.lua)",
                                   a.name, a.dir)),
           2;
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.first == a.template_name; });
  if (it == all.end()) {
    std::string names;
    for (const auto& t : all) names += (names.empty() ? "" : ", ") + t.first;
    return print_error(fmt::format("--template {}: no such template (available: {})", a.template_name, names)), 2;
  }
  const std::filesystem::path path = std::filesystem::path(a.dir) / (a.name + ".lua");
  std::error_code ec;
  if (std::filesystem::exists(path, ec))
    return print_error(fmt::format("{} already exists; it was left unchanged (choose another name, or remove the file "
                                   "first)",
                                   path.string())),
           1;
  std::filesystem::create_directories(a.dir, ec);
  if (ec) return print_error(fmt::format("cannot create directory {}: {}", a.dir, ec.message())), 1;

  std::string text(it->second);
  for (std::size_t pos; (pos = text.find("{{NAME}}")) != std::string::npos;) text.replace(pos, 8, a.name);
  {
    // Exclusive create: a file that appeared since the check is not clobbered.
    std::FILE* f = std::fopen(path.c_str(), "wx");
    if (!f) return print_error(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno))), 1;
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !written) {
      std::filesystem::remove(path, ec);
      return print_error(fmt::format("cannot write {}", path.string())), 1;
    }
  }
  std::printf("wrote %s (template %s)\n\nnext:\n", path.c_str(), a.template_name.c_str());
  std::printf("  trading-engine validate %s\n", path.c_str());
  std::printf("  trading-engine generate-data --bars 5000 --interval 1h --seed 1 --out prices.csv\n");
  std::printf("  trading-engine backtest --strategy %s --data prices.csv\n", path.c_str());
  std::printf("the file explains each callback; docs/strategy-guide.md and docs/lua-api.md have the rest.\n");
  return 0;
}

}  // namespace

void register_new_strategy(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<NewStrategyArgs>();
  auto* cmd = app.add_subcommand("new-strategy", "Write a new strategy file from a documented template");
  cmd->footer(
      "Writes DIR/NAME.lua (default strategies/NAME.lua) from a template that passes `validate` and\n"
      "backtests as it is; an existing file is never overwritten (exit 1). --list shows the templates.\n\n"
      "Example:\n"
      "  trading-engine new-strategy my_trend --template crossover");
  cmd->add_option("name", args->name, "Name of the strategy (letters, digits, _ and -)");
  cmd->add_option("--template", args->template_name, "Template: crossover, mean_reversion or breakout")
      ->capture_default_str();
  cmd->add_option("--dir", args->dir, "Folder to write into")->capture_default_str();
  cmd->add_flag("--list", args->list, "List the templates");
  cmd->callback([args, &ctx] { ctx.exit_code = run_new_strategy(*args); });
}

}  // namespace te::app
