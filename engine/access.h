// Who may read which cases, and the record of who read whose personal data
// (docs/security.md, "Reads").
//
// A person reads the cases of the units their grants are in and of the units
// below them (a town sub-centre's grant reaches its stations and their grid
// cells); a grant of `auditor`, or any grant in the district centre, reaches
// every case. A case is within a grant's reach by its responsible unit, by
// the village station of its grid cell, or by a unit asked to support it
// (协办). Personal values (the summary, the
// petitioner, answers, plans, notes: the schema's personal fields) are shown
// opened only where a grant of a role that handles cases, or `auditor`,
// reaches; `supervisor`, `admin` and `import` alone see them "[withheld]".
// The data directory's owner (the command line without --by) reads all.
//
// While the directory's checks are on, every read that shows personal values
// opened is recorded before they are shown, as PersonalDataViewed events on
// the access chain (events::kAccessChain): who, when, which command, whose
// cases. A read whose record cannot be written shows nothing.
//
// Thread-safety: a ReadScope is an immutable value.
#ifndef CASEGRID_ENGINE_ACCESS_H_
#define CASEGRID_ENGINE_ACCESS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/case_state.pb.h"
#include "engine/directory.h"
#include "workflows/org.h"

namespace casegrid::engine {

class Engine;

// The placeholder of a personal value a reader may not see.
inline constexpr std::string_view kWithheld = "[withheld]";

class ReadScope {
 public:
  // The data directory's owner, named by its OS account: every case, opened.
  static ReadScope Owner(std::string os_account);
  // What `user` may read by their grants in `directory` today. InvalidArgument
  // naming the user when the directory does not hold them.
  static Result<ReadScope> Of(const Directory& directory,
                              std::shared_ptr<const workflows::Organisation> org,
                              std::string_view user);

  bool owner() const { return owner_; }
  // The user, or the owner's OS account.
  const std::string& reader() const { return reader_; }

  // Whether the case is within reach (its unit, or its grid cell's station).
  bool Sees(const casegrid::v1::CaseState& facts) const;
  // Whether its personal values may be shown opened.
  bool SeesPersonal(const casegrid::v1::CaseState& facts) const;
  // Whether the cases of `unit` (an inbox) are within reach, and opened.
  bool SeesUnit(std::string_view unit) const;
  bool SeesPersonalOfUnit(std::string_view unit) const;
  // PermissionDenied "case X: not within what U may read (grants: ...)" unless
  // Sees(facts); it names none of the case's own data.
  Status CheckSees(const casegrid::v1::CaseState& facts) const;
  // The same for a unit's cases.
  Status CheckSeesUnit(std::string_view unit) const;
  // The log's own chains (`chain`: who may do what, who read what) are read
  // by the owner and by those whose grants reach every case.
  Status CheckSeesChains(std::string_view chain) const;

 private:
  ReadScope() = default;
  struct Reach {
    std::string unit;
    bool personal = false;
  };
  bool Covers(std::string_view code, bool personal) const;
  // Whether a unit asked to support the case (CaseState.supports) is within
  // reach: a supporting unit reads the case it works on.
  bool SupportsCovered(const casegrid::v1::CaseState& facts, bool personal) const;

  bool owner_ = false;
  std::string reader_;
  bool all_ = false, all_personal_ = false;
  std::vector<Reach> reach_;     // each grant's unit, and whether its role opens personal values
  std::string grants_ = "none";  // DescribeGrants, for refusals
  std::shared_ptr<const workflows::Organisation> org_;
};

// Records that `scope`'s reader was shown the personal values of `case_ids`
// by `query` (the command as asked): PersonalDataViewed events on the access
// chain, at most kMaxViewedPerEvent case ids each, while the directory's
// checks are on (Engine config's directory); OK and nothing written while
// they are off or `case_ids` is empty. An error means nothing may be shown.
inline constexpr size_t kMaxViewedPerEvent = 1000;
Status RecordPersonalRead(Engine& engine, const ReadScope& scope, std::string_view query,
                          const std::vector<std::string>& case_ids);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_ACCESS_H_
