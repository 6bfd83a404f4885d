// Read scopes and the record of reads of personal data (engine/access.h).
#include "engine/access.h"

#include <algorithm>

#include <utility>

#include "engine/engine.h"
#include "events/log.h"

namespace casegrid::engine {

namespace {

// The roles whose grants show no personal values by themselves: rule
// changes, the directory, imports.
bool SeesPersonalAsRole(std::string_view role) {
  return role != "supervisor" && role != "admin" && role != "import";
}

}  // namespace

ReadScope ReadScope::Owner(std::string os_account) {
  ReadScope s;
  s.owner_ = true;
  s.reader_ = std::move(os_account);
  s.all_ = s.all_personal_ = true;
  return s;
}

Result<ReadScope> ReadScope::Of(const Directory& directory,
                                std::shared_ptr<const workflows::Organisation> org,
                                std::string_view user) {
  const DirectoryUser* u = directory.FindUser(user);
  if (u == nullptr) {
    return Status::InvalidArgument("--by: " + std::string(user) +
                                   " is not in the directory (casegrid users list)");
  }
  ReadScope s;
  s.reader_ = u->id;
  s.org_ = std::move(org);
  const std::string district = s.org_ ? s.org_->district_centre().code() : std::string();
  s.grants_ = DescribeGrants(u->grants);
  for (const Grant& g : u->grants) {
    const bool personal = SeesPersonalAsRole(g.role);
    if (g.role == "auditor" || g.unit == district) {
      s.all_ = true;
      s.all_personal_ = s.all_personal_ || personal;
    }
    s.reach_.push_back(Reach{g.unit, personal});
  }
  return s;
}

bool ReadScope::Covers(std::string_view code, bool personal) const {
  if (personal ? all_personal_ : all_) return true;
  if (code.empty() || org_ == nullptr) return false;
  for (const Reach& r : reach_) {
    if (personal && !r.personal) continue;
    const casegrid::v1::Unit* unit = org_->FindUnit(r.unit);
    if (unit != nullptr && org_->Covers(*unit, code)) return true;
  }
  return false;
}

bool ReadScope::Sees(const casegrid::v1::CaseState& facts) const {
  return SupportsCovered(facts, false) || Covers(facts.unit(), false) ||
         Covers(facts.station(), false);
}

bool ReadScope::SeesPersonal(const casegrid::v1::CaseState& facts) const {
  return SupportsCovered(facts, true) || Covers(facts.unit(), true) ||
         Covers(facts.station(), true);
}

bool ReadScope::SupportsCovered(const casegrid::v1::CaseState& facts, bool personal) const {
  return std::any_of(facts.supports().begin(), facts.supports().end(),
                     [&](const auto& task) { return Covers(task.unit(), personal); });
}

bool ReadScope::SeesUnit(std::string_view unit) const { return Covers(unit, false); }
bool ReadScope::SeesPersonalOfUnit(std::string_view unit) const { return Covers(unit, true); }

Status ReadScope::CheckSees(const casegrid::v1::CaseState& facts) const {
  if (Sees(facts)) return Status::Ok();
  return Status::PermissionDenied("case " + facts.case_id() + ": not within what " + reader_ +
                                  " may read (grants: " + grants_ +
                                  "; a grant reaches its unit and the units below it)");
}

Status ReadScope::CheckSeesUnit(std::string_view unit) const {
  if (SeesUnit(unit)) return Status::Ok();
  return Status::PermissionDenied("unit " + std::string(unit) + ": not within what " + reader_ +
                                  " may read (grants: " + grants_ +
                                  "; a grant reaches its unit and the units below it)");
}

Status ReadScope::CheckSeesChains(std::string_view chain) const {
  if (all_) return Status::Ok();
  return Status::PermissionDenied(std::string(chain) + ": read by those whose grants reach every " +
                                  "case (auditor, or a grant in the district centre); " + reader_ +
                                  " holds: " + grants_);
}

Status RecordPersonalRead(Engine& engine, const ReadScope& scope, std::string_view query,
                          const std::vector<std::string>& case_ids) {
  const auto& directory = engine.config().directory;
  if (case_ids.empty() || directory == nullptr || !directory->enforced()) return Status::Ok();
  for (size_t at = 0; at < case_ids.size(); at += kMaxViewedPerEvent) {
    casegrid::v1::Event e;
    e.set_case_id(std::string(events::kAccessChain));
    e.set_occurred_micros(engine.env()->NowMicros());
    e.mutable_actor()->set_user(scope.reader());
    e.mutable_actor()->set_role(scope.owner() ? "owner" : "reader");
    e.set_action("personal_data_viewed");
    e.set_state("recorded");
    auto* viewed = e.mutable_personal_data_viewed();
    viewed->set_query(std::string(query));
    for (size_t i = at; i < case_ids.size() && i < at + kMaxViewedPerEvent; ++i) {
      viewed->add_case_ids(case_ids[i]);
    }
    CASEGRID_RETURN_IF_ERROR(engine.AppendToChain(std::move(e)).status());
  }
  return Status::Ok();
}

}  // namespace casegrid::engine
