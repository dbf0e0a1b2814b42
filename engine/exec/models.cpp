#include "engine/exec/models.hpp"

#include <string>

namespace te::exec {

std::string_view to_string(FillModel m) noexcept {
  switch (m) {
    case FillModel::NextOpen: return "next_open";
    case FillModel::Close: return "close";
  }
  return "?";
}

Result<FillModel> parse_fill_model(std::string_view text) {
  if (text == "next_open") return FillModel::NextOpen;
  if (text == "close") return FillModel::Close;
  return make_error(Errc::invalid_argument,
                    "unknown fill model '" + std::string(text) + "' (expected next_open or close)");
}

}  // namespace te::exec
