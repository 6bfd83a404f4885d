// libFuzzer target: `verify` over a damaged journal. A small journal (three
// cases, thirty events, its Merkle tree) is written once; each input is a
// list of 5-byte patches (offset u32 little-endian, modulo the file size;
// a byte XORed in) applied to a copy of its data.mdb, which is then opened
// read-only and verified (engine/verify.h). Damage must be reported as a
// Status or a problem, never a signal, hang or sanitizer report.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/verify.h"
#include "events/casegrid.pb.h"
#include "events/log.h"

namespace {

namespace fs = std::filesystem;
using casegrid::Status;

struct Seed {
  std::string dir;    // the scratch directory
  std::string bytes;  // the undamaged data.mdb
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const Seed& TheSeed() {
  static const Seed seed = [] {
    Seed s;
    std::string dir = (fs::temp_directory_path() / "casegrid-fuzz-journal-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
    s.dir = dir;
    {
      auto log = casegrid::events::OpenJournal(dir + "/seed", {});
      if (!log.ok()) std::abort();
      Status st = (*log)->RunBatch([&](casegrid::events::Batch& b) -> Status {
        for (const char* id : {"FZ-1", "FZ-2", "FZ-3"}) {
          std::string prev;
          for (uint64_t seq = 1; seq <= 10; ++seq) {
            casegrid::v1::Event e;
            e.set_case_id(id);
            e.set_case_seq(seq);
            e.set_event_id(std::string(id) + "/" + std::to_string(seq));
            e.set_occurred_micros(static_cast<int64_t>(seq) * 1000);
            e.mutable_urged()->set_note("note");
            e.set_prev_hash(prev);
            const std::string record = casegrid::events::SealEvent(&e);
            prev = e.hash();
            CASEGRID_RETURN_IF_ERROR(b.Append(id, seq, record));
          }
        }
        return Status::Ok();
      });
      if (!st.ok()) std::abort();
    }
    s.bytes = ReadAll(dir + "/seed/data.mdb");
    fs::create_directories(dir + "/damaged");
    return s;
  }();
  static const bool cleaned_at_exit = std::atexit([] {
                                        std::error_code ec;
                                        fs::remove_all(TheSeed().dir, ec);
                                      }) == 0;
  (void)cleaned_at_exit;
  return seed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Seed& seed = TheSeed();
  std::string bytes = seed.bytes;
  for (size_t i = 0; i + 5 <= size; i += 5) {
    const uint32_t at = static_cast<uint32_t>(data[i]) | static_cast<uint32_t>(data[i + 1]) << 8 |
                        static_cast<uint32_t>(data[i + 2]) << 16 |
                        static_cast<uint32_t>(data[i + 3]) << 24;
    bytes[at % bytes.size()] = static_cast<char>(bytes[at % bytes.size()] ^ data[i + 4]);
  }
  const std::string dir = seed.dir + "/damaged";
  fs::remove(dir + "/lock.mdb");
  {
    std::ofstream out(dir + "/data.mdb", std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  casegrid::events::JournalOptions options;
  options.read_only = true;
  options.check_pages = true;
  auto log = casegrid::events::OpenJournal(dir, options);
  if (!log.ok()) return 0;
  (void)casegrid::engine::VerifyLog(**log);
  return 0;
}
