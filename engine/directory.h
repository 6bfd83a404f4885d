// The directory of people (docs/security.md): who works in casegrid, with
// which roles in which units, and the API tokens that act for programs and
// the web console. It is kept as events on the log's chain
// events::kDirectoryChain (UserAdded, RoleGranted, RoleRevoked, TokenIssued,
// TokenRevoked, AuthorizationSet in events/casegrid.proto): hash-chained and covered by the
// signed checkpoints like every case, so an auditor sees who could do what on
// any day and who granted it. Directory folds that chain and answers whether
// an actor may act (the decider asks it: DecideContext::directory); the change
// functions check a change against it and the configuration, and append it
// (the engine's Config then holds the directory as changed).
//
// A token is "cg_<id>_<secret>": 12 hex digits that name it, then 43
// characters of base64url holding 32 random bytes. The log keeps the id and
// SHA-256 of the secret only (a secret of 256 random bits needs no slow hash:
// nobody can guess one to match); the token is shown once, when issued.
//
// Thread-safety: a Directory is a value; the Decide* functions use the
// engine, one thread at a time.
#ifndef CASEGRID_ENGINE_DIRECTORY_H_
#define CASEGRID_ENGINE_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"
#include "events/casegrid.pb.h"
#include "events/log.h"

namespace casegrid::engine {

class Engine;
struct Config;

// A role in a unit (RoleGranted).
struct Grant {
  std::string role, unit;
  auto operator<=>(const Grant&) const = default;
};

struct DirectoryUser {
  std::string id, name;
  std::set<Grant> grants;  // in force
  int64_t added_micros = 0;
  std::string password_verifier;  // argon2id (PasswordSet); empty: no password
};

// "ROLE in UNIT, ..." (or "none"): the grants a refusal names.
std::string DescribeGrants(const std::set<Grant>& grants);

struct DirectoryToken {
  std::string id, user, label;
  std::string secret_sha256;  // 32 bytes
  int64_t issued_micros = 0;
  int64_t expires_micros = 0;  // 0: until revoked
  bool revoked = false;
};

class Directory {
 public:
  // Folds one event of the directory chain. Corruption when the chain does
  // not make sense (a grant to a user never added, a token issued twice):
  // the Decide* functions never write such a chain.
  Status Apply(const casegrid::v1::Event& event);

  // Null when there is no such user.
  const DirectoryUser* FindUser(std::string_view id) const;
  const DirectoryToken* FindToken(std::string_view id) const;
  const std::map<std::string, DirectoryUser, std::less<>>& users() const { return users_; }
  const std::map<std::string, DirectoryToken, std::less<>>& tokens() const { return tokens_; }

  // Whether commands and rule changes are checked against the directory
  // (AuthorizationSet events, `casegrid users enforce`). Off until an admin
  // turns it on: the actor of a command is then what its sender says.
  bool enforced() const { return enforced_; }
  // The number of directory events folded (the chain's last case_seq).
  uint64_t last_seq() const { return last_seq_; }

  // Whether `actor` may act as it says: the user is in the directory and
  // holds a grant of exactly its role in its unit. OK when not enforced().
  // InvalidArgument naming the user, the grant missing and the grants held.
  Status CheckActor(const casegrid::v1::Actor& actor) const;
  // Whether `user` holds `role` in some unit (supervisor for rule changes,
  // admin for the directory). OK when not enforced(); InvalidArgument
  // naming what is missing, `what` saying what was asked.
  Status CheckHolds(std::string_view user, std::string_view role, std::string_view what) const;

  // The user `token` acts for at `now_micros`. Unauthenticated (the same
  // message whatever is wrong, so that a caller learns nothing from it)
  // when the token is malformed, unknown, revoked, expired or its secret
  // differs; `why`, when given, gets the reason for the server's log.
  Result<const DirectoryUser*> Authenticate(std::string_view token, int64_t now_micros,
                                            std::string* why = nullptr) const;
  // The user `user` is when `password` is theirs (argon2id, libsodium).
  // Unauthenticated "wrong user or password" whatever is wrong, after the
  // same work (an unknown user is checked against a stand-in verifier);
  // `why`, when given, gets the reason for the log.
  Result<const DirectoryUser*> CheckPassword(std::string_view user, std::string_view password,
                                             std::string* why = nullptr) const;

 private:
  std::map<std::string, DirectoryUser, std::less<>> users_;
  Status Fold(const casegrid::v1::Event& event);

  std::map<std::string, DirectoryToken, std::less<>> tokens_;
  bool enforced_ = false;
  uint64_t last_seq_ = 0;
};

// The directory as `log` holds it now (its chain replayed, every hash
// checked). Empty when the log has no directory chain yet.
Result<Directory> LoadDirectory(events::Log& log);

// Who makes a directory change, and why. The local command line acts with
// the authority of the OS account that owns the data directory (as psql's
// peer authentication does): `by` is the user it names (default: that
// account), and the engine records the account beside it
// (Engine::set_os_account).
struct DirectoryChange {
  casegrid::v1::Actor by;
  std::string reason;
};

// The roles commands from outside the staff take: citizens are not in the
// directory (their ratings will carry the case's rating code instead).
bool IsCitizenRole(std::string_view role);

// The roles a grant may name: those of the configured and published
// definitions, and the directory's own: supervisor (rule changes), auditor
// (reads everything, changes nothing), admin (the directory itself, erasure)
// and import (commands dated before the backdating window).
std::set<std::string> KnownRoles(const Config& config);

// Each checks the change against the directory and the configuration and
// appends its event to the directory chain: InvalidArgument naming the field
// and what is wrong (nothing written) when it cannot be made, e.g. a user
// added twice, a grant of an unknown role or unit, a revocation of a grant
// the user does not hold; Conflict (nothing written) when another change
// reached the chain between the check and the write (run it again).
// Returns the event written.
Result<casegrid::v1::Event> AddUser(Engine& engine, const DirectoryChange& change,
                                    const std::string& user, const std::string& name);
Result<casegrid::v1::Event> GrantRole(Engine& engine, const DirectoryChange& change,
                                      const std::string& user, const Grant& grant);
Result<casegrid::v1::Event> RevokeRole(Engine& engine, const DirectoryChange& change,
                                       const std::string& user, const Grant& grant);

struct IssuedToken {
  casegrid::v1::Event event;
  std::string token;  // the whole token: shown once, kept nowhere
};
// `expires_micros` 0: until revoked; otherwise it must be after now.
Result<IssuedToken> IssueToken(Engine& engine, const DirectoryChange& change,
                               const std::string& user, const std::string& label,
                               int64_t expires_micros);
Result<casegrid::v1::Event> RevokeToken(Engine& engine, const DirectoryChange& change,
                                        const std::string& token_id);
// Sets `user`'s password (a PasswordSet with its argon2id verifier; the
// password itself is kept nowhere). By an admin, or by the user for their
// own. InvalidArgument (nothing written) for a password of fewer than 10 or
// more than 1024 bytes, not UTF-8 (a GBK terminal), with control characters,
// or for no such user; the message never repeats the password.
Result<casegrid::v1::Event> SetPassword(Engine& engine, const DirectoryChange& change,
                                        const std::string& user, std::string_view password);
// A person's sign-in: when `password` is `user`'s, issues them a token
// (labelled `label`, expiring after `ttl_micros`) as IssueToken does and
// returns it. Unauthenticated "wrong user or password" (nothing written)
// otherwise.
Result<IssuedToken> LogIn(Engine& engine, const std::string& user, std::string_view password,
                          const std::string& label, int64_t ttl_micros);

// Turns the checks against the directory on or off (--reason required).
// Turning them on needs a user holding admin, and `change.by` must be one;
// once on, every directory change must be made by an admin.
Result<casegrid::v1::Event> SetEnforced(Engine& engine, const DirectoryChange& change, bool on);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_DIRECTORY_H_
