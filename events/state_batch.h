// The engine state every Log backend keeps in LMDB next to its events: case
// states, command answers and the open-deadline index (docs/journal_format.md).
// StateBatch implements those Batch methods over one write transaction; a
// backend derives from it and adds Append. Internal to events/.
#ifndef CASEGRID_EVENTS_STATE_BATCH_H_
#define CASEGRID_EVENTS_STATE_BATCH_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/lmdb.h"
#include "events/log.h"

namespace casegrid::events {

struct StateDbs {
  MDB_dbi commands, case_state, deadlines;
  // Opens (creating unless read-only) the three databases.
  static Result<StateDbs> Open(lmdb::Environment& env);
};

class StateBatch : public Batch {
 public:
  StateBatch(lmdb::Txn& txn, const StateDbs& dbs) : txn_(txn), dbs_(dbs) {}

  Status GetCaseState(std::string_view case_id, std::string* state) override;
  Status PutCaseState(std::string_view case_id, std::string_view state) override;
  Status GetCommandAnswer(std::string_view command_id, std::string* answer) override;
  Status PutCommandAnswer(std::string_view command_id, std::string_view answer) override;
  Status PutDeadline(int64_t due, std::string_view case_id, std::string_view name) override;
  Status DelDeadline(int64_t due, std::string_view case_id, std::string_view name) override;
  Status FirstDeadlineDue(int64_t until, int64_t* due, std::string* case_id,
                          std::string* name) override;

 protected:
  lmdb::Txn& txn_;

 private:
  const StateDbs& dbs_;
  std::unique_ptr<lmdb::Cursor> cursor_;
};

// One value of a committed database (a read transaction). NotFound if absent.
Status ReadOne(lmdb::Environment& env, MDB_dbi dbi, std::string_view key, std::string* out);

}  // namespace casegrid::events

#endif  // CASEGRID_EVENTS_STATE_BATCH_H_
