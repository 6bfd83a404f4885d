// What every Log backend shares.
#include "events/log.h"

namespace casegrid::events {

Result<uint64_t> Log::PartitionEnd(int32_t partition) {
  CASEGRID_ASSIGN_OR_RETURN(auto ends, EndOffsets());
  if (partition < 0 || static_cast<size_t>(partition) >= ends.size()) {
    return Status::InvalidArgument(Describe() + " has no partition " + std::to_string(partition));
  }
  return ends[static_cast<size_t>(partition)];
}

Result<std::string> Log::Witness(int32_t, uint64_t) { return std::string(); }

Status CheckRecordSize(std::string_view case_id, uint64_t case_seq, std::string_view record) {
  if (record.size() <= kMaxRecordBytes) return Status::Ok();
  return Status::InvalidArgument("event " + std::to_string(case_seq) + " of case " +
                                 std::string(case_id) + " is " + std::to_string(record.size()) +
                                 " bytes, over the log's limit of " +
                                 std::to_string(kMaxRecordBytes) + " per event");
}

Result<std::vector<uint64_t>> Log::UpdateTrees() {
  return Status::NotFound(Describe() + " keeps no Merkle tree");
}

Result<uint64_t> Log::LeafIndex(lmdb::Txn&, int32_t, uint64_t) {
  return Status::NotFound(Describe() + " keeps no Merkle tree");
}

Status ScanAll(Log& log, const PositionVisitor& visit) {
  CASEGRID_ASSIGN_OR_RETURN(const std::vector<uint64_t> ends, log.EndOffsets());
  bool stopped = false;
  for (int32_t p = 0; p < static_cast<int32_t>(ends.size()) && !stopped; ++p) {
    uint64_t from = 0;
    while (from < ends[p] && !stopped) {
      CASEGRID_ASSIGN_OR_RETURN(
          from, log.Scan(p, from, ends[p], 4096, [&](uint64_t offset, std::string_view record) {
            stopped = !visit(PackPosition(p, offset), record);
            return !stopped;
          }));
    }
  }
  return Status::Ok();
}

}  // namespace casegrid::events
