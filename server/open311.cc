// Open311 GeoReport v2 shapes (open311.h, docs/open311.md).
#include "server/open311.h"

#include <algorithm>
#include <set>

#include "base/time.h"
#include "workflows/org.h"

namespace casegrid::server::open311 {

namespace {

// The fields a request carries in the standard's own names, not as attributes.
bool StandardField(const casegrid::v1::Field& f) {
  return f.name() == "summary" || f.name() == "petitioner";
}

std::string Time(int64_t micros) {
  // Seconds, with the offset: ISO 8601 as the standard asks.
  return timeutil::FormatTimestamp(micros - micros % 1000000);
}

void XmlText(std::string_view s, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '&':
        *out += "&amp;";
        break;
      case '"':
        *out += "&quot;";
        break;
      default:
        // Control characters are not XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') break;
        *out += c;
    }
  }
}

void XmlValue(std::string_view name, const Json& v, std::string* out) {
  *out += "<" + std::string(name) + ">";
  if (v.is_string()) {
    XmlText(v.get<std::string>(), out);
  } else if (v.is_array()) {
    // <attributes><attribute>...</attribute></attributes>, <values><value>...
    const std::string inner(name.substr(0, name.size() - (name.back() == 's' ? 1 : 0)));
    for (const Json& e : v) XmlValue(inner, e, out);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.items()) XmlValue(k, e, out);
  } else if (!v.is_null()) {
    XmlText(v.dump(), out);
  }
  *out += "</" + std::string(name) + ">";
}

}  // namespace

Json Services(const engine::Config& config) {
  Json out = Json::array();
  std::set<std::string> seen;
  for (const auto& def : config.workflows->All()) {
    if (def->Intake() == nullptr || !seen.insert(def->id()).second) continue;
    auto latest = config.workflows->Latest(def->id());
    if (!latest.ok()) continue;
    const auto& p = (*latest)->proto();
    out.push_back({{"service_code", p.id()},
                   {"service_name", p.title().empty() ? p.id() : p.title()},
                   {"description", p.description()},
                   {"metadata", true},
                   {"type", "realtime"},
                   {"keywords", ""},
                   {"group", "casegrid"}});
  }
  return out;
}

Result<Json> ServiceDefinition(const engine::Config& config, std::string_view code) {
  auto def = config.workflows->Latest(code);
  const casegrid::v1::Action* intake = def.ok() ? (*def)->Intake() : nullptr;
  if (intake == nullptr) {
    return Status::NotFound("no service " + std::string(code) + " (GET services lists them)");
  }
  Json attributes = Json::array();
  int order = 0;
  for (const auto& f : intake->fields()) {
    if (StandardField(f) || f.type() == casegrid::v1::OBJECT) continue;
    Json a = {{"variable", true},
              {"code", f.name()},
              {"datatype", "string"},
              {"required", f.required()},
              {"datatype_description", ""},
              {"order", ++order},
              {"description", f.description().empty() ? f.name() : f.description()}};
    if (f.type() == casegrid::v1::INT) a["datatype"] = "number";
    if (f.type() == casegrid::v1::ENUM || f.type() == casegrid::v1::BOOL) {
      a["datatype"] = "singlevaluelist";
      Json values = Json::array();
      if (f.type() == casegrid::v1::BOOL) {
        values =
            Json::array({{{"key", "true"}, {"name", "yes"}}, {{"key", "false"}, {"name", "no"}}});
      }
      for (const auto& v : f.values()) values.push_back({{"key", v}, {"name", v}});
      a["values"] = std::move(values);
    }
    if (f.type() == casegrid::v1::GRID) {
      a["datatype_description"] = "a grid cell code (GET /v1/organisation/grids); or address_id";
    }
    attributes.push_back(std::move(a));
  }
  return Json{{"service_code", (*def)->id()}, {"attributes", std::move(attributes)}};
}

Result<std::string> RequestCommand(const engine::Config& config,
                                   const std::multimap<std::string, std::string>& form,
                                   const std::string& role, const std::string& unit,
                                   const std::string& case_id) {
  auto value = [&](const std::string& key) -> std::string {
    auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
  };
  const std::string code = value("service_code");
  if (code.empty()) return Status::InvalidArgument("service_code: required (GET services)");
  auto def = config.workflows->Latest(code);
  const casegrid::v1::Action* intake = def.ok() ? (*def)->Intake() : nullptr;
  if (intake == nullptr) return Status::InvalidArgument("service_code: no service " + code);
  Json data = Json::object();
  for (const auto& f : intake->fields()) {
    if (StandardField(f) || f.type() == casegrid::v1::OBJECT) continue;
    std::string v = value("attribute[" + f.name() + "]");
    if (v.empty() && f.type() == casegrid::v1::GRID) v = value("address_id");
    if (v.empty() && f.name() == "channel") v = role;  // the door it came through
    if (v.empty()) continue;
    if (f.type() == casegrid::v1::BOOL) {
      data[f.name()] = v == "true" || v == "1";
    } else if (f.type() == casegrid::v1::INT) {
      data[f.name()] = Json::parse(v, nullptr, false);
    } else {
      data[f.name()] = v;
    }
  }
  if (!value("description").empty()) data["summary"] = value("description");
  std::string name = value("last_name") + value("first_name");  // 姓名: family name first
  if (!name.empty()) data["petitioner"]["name"] = name;
  if (!value("phone").empty()) data["petitioner"]["phone"] = value("phone");
  const Json command = {{"case", case_id},
                        {"action", intake->name()},
                        {"workflow", code},
                        {"actor", {{"role", role}, {"unit", unit}}},
                        {"data", std::move(data)}};
  try {
    return command.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::type_error&) {
    return Status::InvalidArgument(
        "a field of the request is not UTF-8 text (GBK from a Chinese Windows form?): send UTF-8");
  }
}

Json Request(const projections::CaseView& view, const engine::Config& config, bool personal) {
  const casegrid::v1::CaseState& f = view.facts();
  const auto* unit = config.org->FindUnit(f.unit());
  const auto* grid = config.org->FindGrid(f.grid());
  int64_t expected = 0;
  for (const auto& d : f.deadlines()) expected = std::max(expected, d.due_micros());
  Json r = {{"service_request_id", f.case_id()},
            {"status", view.ended() ? "closed" : "open"},
            {"status_notes", f.state()},
            {"service_name", f.workflow_id()},
            {"service_code", f.workflow_id()},
            {"description", personal ? view.summary() : ""},
            {"agency_responsible", unit ? unit->name() : f.unit()},
            {"service_notice", ""},
            {"requested_datetime", Time(view.opened_micros())},
            {"updated_datetime", Time(f.last_micros())},
            {"expected_datetime", expected ? Json(Time(expected)) : Json("")},
            {"address", grid ? grid->name() : ""},
            {"address_id", f.grid()},
            {"zipcode", ""},
            {"lat", ""},
            {"long", ""},
            {"media_url", ""}};
  return r;
}

std::string Xml(const Json& list, std::string_view root, std::string_view item) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
  out += "<" + std::string(root) + ">";
  for (const Json& e : list) XmlValue(item, e, &out);
  out += "</" + std::string(root) + ">\n";
  return out;
}

std::string XmlObject(const Json& object, std::string_view root) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
  XmlValue(root, object, &out);
  return out + "\n";
}

std::string Error(int code, const std::string& description, bool xml) {
  const Json errors = Json::array({{{"code", code}, {"description", description}}});
  if (xml) return Xml(errors, "errors", "error");
  return errors.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace casegrid::server::open311
