// End-to-end tests of the audit trail (docs/audit.md): `casegrid checkpoint`,
// `verify --checkpoint` and `prove` run as the built binary (CASEGRID_BINARY),
// and the offline verifier tools/verify_offline.py run with python3 on the
// proofs prove writes and on proofs an attacker changed. The verifier must
// answer every changed proof with exit 1 and a FAILED line, never a Python
// traceback.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/codec.h"
#include "base/lmdb.h"
#include "events/casegrid.pb.h"
#include "events/log.h"
#include "tests/test_util.h"
#include "tests/tools/process_util.h"

using namespace casegrid;
using nlohmann::json;

namespace {

using test::Contains;
using test::Output;
using test::ReadFile;
using test::WriteFile;

// A scratch directory, the working directory of every run; data directories
// are named relative to it.
class Audit {
 public:
  // The shipped configuration and each data directory's own signing key,
  // whatever the caller's environment says.
  Audit()
      : env_(test::Environment({"CASEGRID_CONFIG", "CASEGRID_SIGNING_KEY", "CASEGRID_LOG",
                                "CASEGRID_BROKERS", "CASEGRID_TOPIC_PREFIX",
                                "CASEGRID_PARTITIONS"})) {}

  std::string Path(const std::string& name) const { return dir_.Sub(name); }

  // `casegrid --data DATA ARGS...` with `input` on stdin.
  Output Run(const std::string& data, const std::vector<std::string>& args,
             const std::string& input = "") const {
    std::vector<std::string> argv = {CASEGRID_BINARY, "--data", data};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, dir_.path(), env_, test::Stdin::Text(input));
  }

  // `python3 tools/verify_offline.py --key KEY PROOF`.
  Output VerifyOffline(const std::string& key, const std::string& proof) const {
    return test::RunProcess(
        {"python3", test::SourcePath("tools/verify_offline.py"), "--key", key, proof}, dir_.path(),
        env_);
  }

 private:
  test::TempDir dir_;
  std::vector<std::string> env_;
};

std::string Describe(const std::string& what, const Output& o) {
  return what + ": " + test::Describe(o);
}

std::string TrimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// One NDJSON intake command of case `id` (docs/commands.md).
std::string Intake(const std::string& id) {
  return R"({"case":")" + id +
         R"(","action":"intake","at":"2026-09-30T10:00:00+08:00",)"
         R"("actor":{"user":"w01","role":"window","unit":"371302"},)"
         R"("data":{"channel":"window","category":"village-affairs","grid":"371302-001-001-01",)"
         R"("summary":"Unpaid wages"}})"
         "\n";
}

std::string Base64Decode(const std::string& text) {
  std::string raw;
  REQUIRE(codec::ParseBase64(text, &raw));
  return raw;
}

// The verifier's answer to a changed proof: exit 1, a FAILED line with
// `reason`, and no traceback.
void RequireRejected(const Output& o, const std::string& reason) {
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "FAILED: "));
  CHECK(Contains(o.out, reason));
  CHECK_FALSE(Contains(o.out, "ok: case"));
  CHECK_FALSE(Contains(o.err, "Traceback"));
  CHECK_FALSE(Contains(o.out, "Traceback"));
}

// `demo --days 5` into "data", its checkpoint "checkpoint.txt", its verifier
// key, the case the demo report replays and that case's proof "proof.json";
// and a second demo "other" with a key of its own. Built once and shared by
// the tests that only read it; `problem` says which step failed, if one did.
struct ProvenCase {
  ProvenCase() {
    if (!Step("demo", a.Run("data", {"demo", "--days", "5", "--quiet"}), &demo)) return;
    std::smatch m;
    if (!std::regex_search(demo.out, m, std::regex("replay of case (\\S+)"))) {
      problem = "no \"replay of case\" in the demo report:\n" + demo.out;
      return;
    }
    case_id = m[1].str();
    Output o;
    if (!Step("checkpoint -o", a.Run("data", {"checkpoint", "-o", "checkpoint.txt"}), &o)) return;
    if (!Step("checkpoint --public-key", a.Run("data", {"checkpoint", "--public-key"}), &o)) return;
    key = TrimNewline(o.out);
    WriteFile(a.Path("verifier.key"), o.out);
    if (!Step(
            "prove",
            a.Run("data", {"prove", case_id, "--checkpoint", "checkpoint.txt", "-o", "proof.json"}),
            &o)) {
      return;
    }
    proof_text = ReadFile(a.Path("proof.json"));
    if (!Step("other demo", a.Run("other", {"demo", "--days", "1", "--quiet"}), &o)) return;
    if (!Step("other key", a.Run("other", {"checkpoint", "--public-key"}), &o)) return;
    other_key = TrimNewline(o.out);
  }

  bool Step(const std::string& what, Output o, Output* out) {
    *out = std::move(o);
    if (out->status == 0) return true;
    problem = Describe(what, *out);
    return false;
  }

  // `proof` written to a file of its own; the verifier's answer.
  Output VerifyChanged(const json& proof) {
    const std::string name = "changed-" + std::to_string(++changed) + ".json";
    WriteFile(a.Path(name), proof.dump(2));
    return a.VerifyOffline(key, name);
  }
  Output VerifyBytes(const std::string& bytes) {
    const std::string name = "changed-" + std::to_string(++changed) + ".json";
    WriteFile(a.Path(name), bytes);
    return a.VerifyOffline(key, name);
  }

  Audit a;
  Output demo;
  std::string problem, case_id, key, other_key, proof_text;
  int changed = 0;
};

ProvenCase& Proven() {
  static ProvenCase scenario;
  INFO(scenario.problem);
  REQUIRE(scenario.problem.empty());
  return scenario;
}

// The checkpoint's size line.
uint64_t CheckpointSize(const std::string& note) {
  std::smatch m;
  INFO(note);
  REQUIRE(std::regex_search(note, m, std::regex("^[^\n]+\n(\\d+)\n")));
  return std::stoull(m[1].str());
}

// ---- prove and the offline verifier ----

TEST_CASE("prove writes a proof of a demo case that tools/verify_offline.py accepts", "[audit]") {
  ProvenCase& p = Proven();
  const json proof = json::parse(p.proof_text);
  const std::string note = ReadFile(p.a.Path("checkpoint.txt"));
  CHECK(proof["format"] == "casegrid-proof/1");
  CHECK(proof["case_id"] == p.case_id);
  CHECK(proof["checkpoint"] == note);
  const uint64_t size = CheckpointSize(note);
  CHECK(size >= 900);                    // the demo's ~1000 events
  REQUIRE(proof["events"].size() >= 3);  // the tampering tests need a middle event
  uint64_t last = 0;
  for (const json& e : proof["events"]) {
    const uint64_t position = e["position"].get<uint64_t>();
    CHECK(position > last);
    CHECK(position <= size);
    CHECK(e["leaf_index"].get<uint64_t>() == position - 1);
    last = position;
  }

  for (const std::string& key : {p.key, std::string("verifier.key")}) {
    Output o = p.a.VerifyOffline(key, "proof.json");
    INFO("--key " << key << "\n" << test::Describe(o));
    CHECK(o.status == 0);
    CHECK(o.err.empty());
    const auto lines = test::Lines(o.out);
    REQUIRE(lines.size() == proof["events"].size() + 1);
    for (size_t i = 0; i < proof["events"].size(); ++i) {
      const std::string want =
          "  position " + std::to_string(proof["events"][i]["position"].get<uint64_t>()) + "  " +
          p.case_id + "/" + std::to_string(i + 1) + "  hash ok, chain ok, included";
      CHECK(lines[i] == want);
    }
    const std::string origin = note.substr(0, note.find('\n'));
    CHECK(lines.back() == "ok: case " + p.case_id + ": " + std::to_string(proof["events"].size()) +
                              " events, each included in the checkpoint of " + origin + " at " +
                              std::to_string(size) +
                              " events; signature, inclusion proofs and hash chain verified");
  }
}

TEST_CASE("verify_offline.py rejects a changed proof with FAILED and no traceback", "[audit]") {
  ProvenCase& p = Proven();
  const json proof = json::parse(p.proof_text);
  const size_t mid = proof["events"].size() / 2;
  const std::string mid_position = std::to_string(proof["events"][mid]["position"].get<uint64_t>());
  const std::string next_position =
      std::to_string(proof["events"][mid + 1]["position"].get<uint64_t>());

  SECTION("a byte of one record flipped") {
    json changed = proof;
    std::string record = Base64Decode(changed["events"][mid]["record"].get<std::string>());
    const size_t at = record.find(p.case_id);
    REQUIRE(at != std::string::npos);
    record[at] = static_cast<char>(record[at] ^ 0x01);
    changed["events"][mid]["record"] = codec::Base64(record);
    const Output o = p.VerifyChanged(changed);
    RequireRejected(o, "event position " + mid_position + " (");
    RequireRejected(o, "hash mismatch");
  }
  SECTION("a middle event dropped") {
    json changed = proof;
    changed["events"].erase(mid);
    RequireRejected(p.VerifyChanged(changed), "event position " + next_position + " (case " +
                                                  p.case_id + " seq " + std::to_string(mid + 2) +
                                                  "): case_seq does not follow");
  }
  SECTION("two events swapped") {
    json changed = proof;
    std::swap(changed["events"][mid], changed["events"][mid + 1]);
    RequireRejected(p.VerifyChanged(changed), "event position " + next_position);
  }
  SECTION("the first event dropped") {
    json changed = proof;
    changed["events"].erase(0);
    RequireRejected(p.VerifyChanged(changed), "is not the case's first (seq 1)");
  }
  SECTION("one hash of an inclusion proof changed") {
    json changed = proof;
    json& path = changed["events"][mid]["inclusion_proof"];
    REQUIRE(!path.empty());
    std::string h = Base64Decode(path[0].get<std::string>());
    h[0] = static_cast<char>(h[0] ^ 0x80);
    path[0] = codec::Base64(h);
    RequireRejected(p.VerifyChanged(changed),
                    "event position " + mid_position + " (case " + p.case_id + " seq " +
                        std::to_string(mid + 1) +
                        "): inclusion proof does not lead to the checkpoint root");
  }
  SECTION("the last event rewritten and sealed again: its chain holds, its inclusion does not") {
    json changed = proof;
    json& last = changed["events"].back();
    v1::Event e;
    REQUIRE(e.ParseFromString(Base64Decode(last["record"].get<std::string>())));
    e.set_state(e.state() + "-rewritten");
    last["record"] = codec::Base64(events::SealEvent(&e));
    RequireRejected(p.VerifyChanged(changed),
                    "event position " + std::to_string(last["position"].get<uint64_t>()) +
                        " (case " + p.case_id + " seq " + std::to_string(e.case_seq()) +
                        "): inclusion proof does not lead to the checkpoint root");
  }
  SECTION("a leaf index that is not position - 1") {
    json changed = proof;
    changed["events"][mid]["leaf_index"] = changed["events"][mid]["position"];
    RequireRejected(p.VerifyChanged(changed), "\"leaf_index\" is not position - 1");
  }
  SECTION("the checkpoint's size line changed") {
    json changed = proof;
    std::string note = changed["checkpoint"].get<std::string>();
    const std::string size = std::to_string(CheckpointSize(note));
    const size_t at = note.find("\n" + size + "\n");
    REQUIRE(at != std::string::npos);
    note.replace(at + 1, size.size(), std::to_string(std::stoull(size) + 1));
    changed["checkpoint"] = note;
    const Output o = p.VerifyChanged(changed);
    RequireRejected(o, "checkpoint signature by ");
    RequireRejected(o, "does not verify");
  }
  SECTION("the proof of a case claimed for another case") {
    json changed = proof;
    changed["case_id"] = p.case_id + "X";
    RequireRejected(p.VerifyChanged(changed), "belongs to another case");
  }
  SECTION("another journal's verifier key") {
    const Output o = p.a.VerifyOffline(p.other_key, "proof.json");
    REQUIRE(p.other_key != p.key);
    RequireRejected(
        o, "checkpoint is not signed by key " + p.other_key.substr(0, p.other_key.find('+')));
  }
  SECTION("not JSON") {
    RequireRejected(p.VerifyBytes("this is {not JSON at all\n"), "is not JSON");
    RequireRejected(p.VerifyBytes(""), "is not JSON");
    RequireRejected(p.VerifyBytes(std::string(100000, '[')), "FAILED");
  }
  SECTION("bytes that are not UTF-8") {
    std::string bytes = p.proof_text;
    const size_t at = bytes.find(p.case_id);
    REQUIRE(at != std::string::npos);
    bytes[at] = '\xff';
    bytes[at + 1] = '\xfe';
    RequireRejected(p.VerifyBytes(bytes), "is not UTF-8");
  }
  SECTION("wrong types, bad base64 and numbers out of range") {
    json changed = proof;
    changed["events"][0]["position"] = "1";
    RequireRejected(p.VerifyChanged(changed), "\"position\" is not a positive integer");
    changed = proof;
    changed["events"][0]["record"] = "not base64!";
    RequireRejected(p.VerifyChanged(changed), "is not valid base64");
    changed = proof;
    changed["events"] = json::object();
    RequireRejected(p.VerifyChanged(changed), "\"events\" is not a non-empty list");
    std::string huge = p.proof_text;
    const std::string first =
        "\"position\": " + std::to_string(proof["events"][0]["position"].get<uint64_t>());
    const size_t at = huge.find(first);
    REQUIRE(at != std::string::npos);
    huge.replace(at, first.size(), "\"position\": " + std::string(5000, '9'));
    RequireRejected(p.VerifyBytes(huge), "FAILED");
    changed = proof;
    changed["events"][0]["position"] = 1e300;
    RequireRejected(p.VerifyChanged(changed), "\"position\" is not a positive integer");
  }
}

TEST_CASE("verify_offline.py exits 2 on a missing proof file or a key that is not one", "[audit]") {
  ProvenCase& p = Proven();
  Output missing = p.a.VerifyOffline(p.key, "no-such-proof.json");
  INFO(test::Describe(missing));
  CHECK(missing.status == 2);
  CHECK(Contains(missing.err, "no-such-proof.json"));
  Output bad_key = p.a.VerifyOffline("not+a+key", "proof.json");
  INFO(test::Describe(bad_key));
  CHECK(bad_key.status == 2);
  CHECK(Contains(bad_key.err, "--key"));
  // A key whose id does not match its name and public key.
  std::string wrong_id = p.key;
  const size_t plus = wrong_id.find('+');
  REQUIRE(plus != std::string::npos);
  wrong_id[plus + 1] = wrong_id[plus + 1] == '0' ? '1' : '0';
  Output mismatched = p.a.VerifyOffline(wrong_id, "proof.json");
  INFO(test::Describe(mismatched));
  CHECK(mismatched.status == 2);
  CHECK(Contains(mismatched.err, "key id does not match"));
  CHECK_FALSE(Contains(missing.err + bad_key.err + mismatched.err, "Traceback"));
}

// ---- verify --checkpoint ----

TEST_CASE("verify --checkpoint accepts the demo's checkpoint", "[audit]") {
  ProvenCase& p = Proven();
  Output o = p.a.Run("data", {"verify", "--checkpoint", "checkpoint.txt"});
  INFO(test::Describe(o));
  CHECK(o.status == 0);
  CHECK(Contains(o.out, "checkpoint ok: the log extends the checkpoint of "));
  Output with_key =
      p.a.Run("data", {"verify", "--checkpoint", "checkpoint.txt", "--key", "verifier.key"});
  INFO(test::Describe(with_key));
  CHECK(with_key.status == 0);
  CHECK(Contains(with_key.out, "checkpoint ok"));
}

TEST_CASE("verify --checkpoint refuses a checkpoint whose root line was changed", "[audit]") {
  ProvenCase& p = Proven();
  std::string note = ReadFile(p.a.Path("checkpoint.txt"));
  std::vector<std::string> lines = test::Lines(note);
  REQUIRE(lines.size() >= 5);
  std::string root = Base64Decode(lines[2]);
  REQUIRE(root.size() == 32);
  root[5] = static_cast<char>(root[5] ^ 0x01);
  const std::string changed_line = codec::Base64(root);
  note.replace(note.find(lines[2]), lines[2].size(), changed_line);
  WriteFile(p.a.Path("changed-root.txt"), note);

  Output o = p.a.Run("data", {"verify", "--checkpoint", "changed-root.txt"});
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out + o.err, "signature"));
  CHECK(Contains(o.out + o.err, "does not verify"));
  CHECK_FALSE(Contains(o.out, "checkpoint ok"));

  Output prove =
      p.a.Run("data", {"prove", p.case_id, "--checkpoint", "changed-root.txt", "-o", "x.json"});
  INFO(test::Describe(prove));
  CHECK(prove.status == 1);
  CHECK(Contains(prove.out + prove.err, "does not verify"));
}

TEST_CASE("verify --checkpoint refuses a checkpoint of another journal's key", "[audit]") {
  ProvenCase& p = Proven();
  Output o = p.a.Run("other", {"verify", "--checkpoint", "checkpoint.txt"});
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  CHECK_FALSE(Contains(o.out, "checkpoint ok"));
}

TEST_CASE("the log extends an old checkpoint and prove still verifies against it", "[audit]") {
  Audit a;
  const std::string intake = Intake("AUD-1");
  const std::string dispatch =
      R"({"case":"AUD-1","action":"dispatch","at":"2026-09-30T11:00:00+08:00",)"
      R"("actor":{"user":"c01","role":"centre","unit":"371302"},"data":{}})"
      "\n";
  auto ok = [&](const std::vector<std::string>& args, const std::string& input = "") {
    Output o = a.Run("data", args, input);
    INFO(test::Describe(o));
    REQUIRE(o.status == 0);
    return o;
  };
  ok({"submit", "--file", "-", "--quiet"}, intake);
  ok({"checkpoint", "-o", "old.txt"});
  const std::string key = TrimNewline(ok({"checkpoint", "--public-key"}).out);
  const uint64_t old_size = CheckpointSize(ReadFile(a.Path("old.txt")));
  REQUIRE(old_size >= 1);

  ok({"submit", "--file", "-", "--quiet"}, dispatch);
  const Output tick = ok({"tick", "--now", "2026-12-01T00:00:00+08:00"});
  CHECK_FALSE(Contains(tick.out, ": 0 events"));

  Output verify = a.Run("data", {"verify", "--checkpoint", "old.txt"});
  INFO(test::Describe(verify));
  CHECK(verify.status == 0);
  CHECK(Contains(verify.out, "checkpoint ok: the log extends the checkpoint of "));
  CHECK(Contains(verify.out, " at " + std::to_string(old_size) + " events"));

  // Against the old checkpoint: only the events it covers, and a note of the rest.
  Output prove_old =
      a.Run("data", {"prove", "AUD-1", "--checkpoint", "old.txt", "-o", "old-proof.json"});
  INFO(test::Describe(prove_old));
  CHECK(prove_old.status == 0);
  CHECK(Contains(prove_old.err, "later event(s) of case AUD-1"));
  const json old_proof = json::parse(ReadFile(a.Path("old-proof.json")));
  CHECK(old_proof["events"].size() == old_size);
  Output offline_old = a.VerifyOffline(key, "old-proof.json");
  INFO(test::Describe(offline_old));
  CHECK(offline_old.status == 0);
  CHECK(Contains(offline_old.out, "ok: case AUD-1: " + std::to_string(old_size) + " events, "));
  CHECK(Contains(offline_old.out, " at " + std::to_string(old_size) + " events;"));

  // Against a new checkpoint: every event.
  ok({"checkpoint", "-o", "new.txt"});
  const uint64_t new_size = CheckpointSize(ReadFile(a.Path("new.txt")));
  CHECK(new_size > old_size);
  Output prove_new =
      a.Run("data", {"prove", "AUD-1", "--checkpoint", "new.txt", "-o", "new-proof.json"});
  INFO(test::Describe(prove_new));
  CHECK(prove_new.status == 0);
  CHECK(json::parse(ReadFile(a.Path("new-proof.json")))["events"].size() == new_size);
  Output offline_new = a.VerifyOffline(key, "new-proof.json");
  INFO(test::Describe(offline_new));
  CHECK(offline_new.status == 0);
  CHECK(Contains(offline_new.out, "ok: case AUD-1: " + std::to_string(new_size) + " events, "));
  // The old proof is no proof against the new checkpoint.
  json mixed = old_proof;
  mixed["checkpoint"] = ReadFile(a.Path("new.txt"));
  WriteFile(a.Path("mixed.json"), mixed.dump());
  RequireRejected(a.VerifyOffline(key, "mixed.json"), "inclusion proof");
}

TEST_CASE("verify --checkpoint says which events a shorter log lost", "[audit]") {
  // A copy of the journal before the checkpoint stands for a log truncated after it.
  Audit a;
  const std::string intake = Intake("AUD-2");
  Output o = a.Run("data", {"submit", "--file", "-", "--quiet"}, intake);
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  std::filesystem::copy(a.Path("data"), a.Path("before"), std::filesystem::copy_options::recursive);
  REQUIRE(a.Run("data", {"tick", "--now", "2026-12-01T00:00:00+08:00"}).status == 0);
  REQUIRE(a.Run("data", {"checkpoint", "-o", "after.txt"}).status == 0);
  Output v = a.Run("before", {"verify", "--checkpoint", "after.txt"});
  INFO(test::Describe(v));
  CHECK(v.status == 1);
  CHECK(Contains(v.out, "verify FAILED"));
  CHECK(Contains(v.out, "removed"));
}

// ---- the signing key ----

TEST_CASE("the signing key DATA/signing-key.pem is created mode 0600", "[audit]") {
  ProvenCase& p = Proven();
  struct stat st {};
  REQUIRE(::stat(p.a.Path("data/signing-key.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(Contains(ReadFile(p.a.Path("data/signing-key.pem")), "-----BEGIN PRIVATE KEY-----"));
}

TEST_CASE(
    "after a key rotation checkpoint signs the head with the new key, and exporting a key "
    "signs nothing",
    "[audit]") {
  Audit a;
  const std::string intake = Intake("AUD-3");
  Output o = a.Run("data", {"submit", "--file", "-", "--quiet"}, intake);
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  REQUIRE(a.Run("data", {"checkpoint", "-o", "old.txt"}).status == 0);
  const std::string old_key = TrimNewline(a.Run("data", {"checkpoint", "--public-key"}).out);
  // Exporting the key again and again signs no new note: the same one comes back.
  REQUIRE(a.Run("data", {"checkpoint", "--public-key"}).status == 0);
  REQUIRE(a.Run("data", {"checkpoint", "-o", "again.txt"}).status == 0);
  CHECK(ReadFile(a.Path("again.txt")) == ReadFile(a.Path("old.txt")));
  // Rotate: the old key moved away, a new one is made; the head is signed anew.
  std::filesystem::rename(a.Path("data/signing-key.pem"), a.Path("retired.pem"));
  REQUIRE(a.Run("data", {"checkpoint", "-o", "new.txt"}).status == 0);
  const std::string new_key = TrimNewline(a.Run("data", {"checkpoint", "--public-key"}).out);
  CHECK(new_key != old_key);
  CHECK(ReadFile(a.Path("new.txt")) != ReadFile(a.Path("old.txt")));
  Output v = a.Run("data", {"verify", "--checkpoint", "new.txt"});
  INFO(test::Describe(v));
  CHECK(v.status == 0);
  CHECK(Contains(v.out, "checkpoint ok"));
  // The old note still verifies with the old verifier key, and not with the new.
  v = a.Run("data", {"verify", "--checkpoint", "old.txt", "--key", old_key});
  INFO(test::Describe(v));
  CHECK(v.status == 0);
  v = a.Run("data", {"verify", "--checkpoint", "old.txt"});
  CHECK(v.status == 1);
  CHECK(Contains(v.out, "no signature by key"));
}

TEST_CASE(
    "after a journal is restored from an older copy, commands are refused before "
    "writing until the read models are rebuilt",
    "[audit]") {
  Audit a;
  const std::string intake = Intake("AUD-5");
  REQUIRE(a.Run("data", {"submit", "--file", "-", "--quiet"}, intake).status == 0);
  std::filesystem::copy(a.Path("data/journal"), a.Path("older"));
  REQUIRE(a.Run("data", {"tick", "--now", "2026-12-01T00:00:00+08:00"}).status == 0);
  std::filesystem::remove_all(a.Path("data/journal"));
  std::filesystem::copy(a.Path("older"), a.Path("data/journal"));
  const std::string before = a.Run("data", {"verify"}).out;
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"tick", "--now", "2026-12-02T00:00:00+08:00"},
        std::vector<std::string>{"case", "show", "AUD-5"}}) {
    Output o = a.Run("data", command);
    INFO(test::Describe(o));
    CHECK(o.status == 2);
    CHECK(Contains(o.err, "restored from an older copy"));
    CHECK(Contains(o.err, "casegrid projections rebuild"));
  }
  CHECK(a.Run("data", {"verify"}).out == before);  // nothing written
  Output o = a.Run("data", {"projections", "rebuild"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(a.Run("data", {"tick", "--now", "2026-12-02T00:00:00+08:00"}).status == 0);
  CHECK(a.Run("data", {"case", "show", "AUD-5"}).status == 0);
}

TEST_CASE("verify --read-models names a read-model entry that differs from a rebuild", "[audit]") {
  Audit a;
  const std::string intake = Intake("AUD-6");
  REQUIRE(a.Run("data", {"submit", "--file", "-", "--quiet"}, intake).status == 0);
  Output o = a.Run("data", {"verify", "--read-models"});
  INFO(test::Describe(o));
  REQUIRE(o.status == 0);
  CHECK(Contains(o.out, "read models ok: all "));
  // One statistic changed by hand, as a careless repair or damage would.
  {
    auto env = lmdb::Environment::Open(a.Path("data/projections"), {});
    REQUIRE_OK(env);
    auto stats = (*env)->OpenDb("stats");
    REQUIRE_OK(stats);
    REQUIRE_OK((*env)->RunWrite([&](lmdb::Txn& txn) -> Status {
      CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, *stats));
      REQUIRE(cur->First());
      const std::string key(cur->key());
      return txn.Put(*stats, key, codec::EncodeU64BE(41));
    }));
  }
  o = a.Run("data", {"verify", "--read-models"});
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "verify FAILED: read models: the stored entry \"stats "));
  CHECK(Contains(o.out, "casegrid projections rebuild"));
  REQUIRE(a.Run("data", {"projections", "rebuild"}).status == 0);
  o = a.Run("data", {"verify", "--read-models"});
  INFO(test::Describe(o));
  CHECK(o.status == 0);
}

TEST_CASE(
    "verify --read-models fails on read models ahead of a journal restored from an older copy",
    "[audit]") {
  Audit a;
  REQUIRE(a.Run("data", {"submit", "--file", "-", "--quiet"}, Intake("AUD-7")).status == 0);
  std::filesystem::copy(a.Path("data/journal"), a.Path("journal-then"),
                        std::filesystem::copy_options::recursive);
  REQUIRE(a.Run("data", {"submit", "--file", "-", "--quiet"}, Intake("AUD-8")).status == 0);
  std::filesystem::remove_all(a.Path("data/journal"));
  std::filesystem::rename(a.Path("journal-then"), a.Path("data/journal"));
  Output o = a.Run("data", {"verify", "--read-models"});
  INFO(test::Describe(o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "verify FAILED: read models: they reflect the log up to"));
  CHECK(Contains(o.out, "the log lost events they show"));
}

TEST_CASE("checkpoint, prove and replay refuse what is not there or not an id, writing nothing",
          "[audit]") {
  ProvenCase& p = Proven();
  // A mistyped data directory: no journal, no key made for it.
  Output o = p.a.Run("typo", {"checkpoint"});
  INFO(test::Describe(o));
  CHECK(o.status == 2);
  CHECK(Contains(o.err, "no journal in typo"));
  CHECK_FALSE(std::filesystem::exists(p.a.Path("typo")));
  // A case id in GBK from a Chinese Windows terminal is named, escaped.
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"prove", "\xb0\xb8\xbc\xfe", "--checkpoint", "checkpoint.txt"},
        std::vector<std::string>{"replay", "\xb0\xb8\xbc\xfe"}}) {
    o = p.a.Run("data", command);
    INFO(test::Describe(o));
    CHECK(o.status == 2);
    CHECK(Contains(o.err, "case: "));
    CHECK_FALSE(Contains(o.err, "\xb0\xb8"));  // the raw bytes are not echoed
  }
}

}  // namespace

TEST_CASE("verify over a damaged or truncated journal file says FAILED and exits 1", "[audit]") {
  Audit a;
  REQUIRE(
      a.Run("data", {"submit", "--file", "-", "--quiet"}, Intake("DJ-1") + Intake("DJ-2")).status ==
      0);
  const std::string file = a.Path("data/journal/data.mdb");
  const std::string bytes = ReadFile(file);
  REQUIRE(bytes.size() > 3 * 4096);
  SECTION("truncated to three pages") { WriteFile(file, bytes.substr(0, 3 * 4096)); }
  SECTION("both meta pages name another page size") {
    std::string damaged = bytes;
    for (size_t page : {size_t{0}, size_t{4096}}) {
      // The page header (16 bytes), then the meta's magic, version, address
      // and map size (24): its page size, 4096 -> 4352.
      damaged[page + 16 + 24 + 1] = static_cast<char>(damaged[page + 16 + 24 + 1] ^ 0x01);
    }
    WriteFile(file, damaged);
  }
  const Output o = a.Run("data", {"verify"});
  INFO(Describe("verify", o));
  CHECK(o.status == 1);
  CHECK(Contains(o.out, "verify FAILED: "));
  CHECK_FALSE(Contains(o.out, "verify ok"));
}
