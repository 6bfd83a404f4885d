#include "events/state_batch.h"

#include "base/codec.h"

namespace casegrid::events {

Result<StateDbs> StateDbs::Open(lmdb::Environment& env) {
  StateDbs dbs;
  CASEGRID_ASSIGN_OR_RETURN(dbs.commands, env.OpenDb("commands"));
  CASEGRID_ASSIGN_OR_RETURN(dbs.case_state, env.OpenDb("case_state"));
  CASEGRID_ASSIGN_OR_RETURN(dbs.deadlines, env.OpenDb("deadlines"));
  return dbs;
}

Status StateBatch::GetCaseState(std::string_view case_id, std::string* state) {
  std::string_view v;
  CASEGRID_RETURN_IF_ERROR(txn_.Get(dbs_.case_state, case_id, &v));
  state->assign(v);
  return Status::Ok();
}

Status StateBatch::PutCaseState(std::string_view case_id, std::string_view state) {
  return txn_.Put(dbs_.case_state, case_id, state);
}

Status StateBatch::GetCommandAnswer(std::string_view command_id, std::string* answer) {
  std::string_view v;
  CASEGRID_RETURN_IF_ERROR(txn_.Get(dbs_.commands, command_id, &v));
  answer->assign(v);
  return Status::Ok();
}

Status StateBatch::PutCommandAnswer(std::string_view command_id, std::string_view answer) {
  return txn_.Put(dbs_.commands, command_id, answer);
}

Status StateBatch::PutDeadline(int64_t due, std::string_view case_id, std::string_view name) {
  return txn_.Put(dbs_.deadlines, codec::DeadlineKey(due, case_id, name), {});
}

Status StateBatch::DelDeadline(int64_t due, std::string_view case_id, std::string_view name) {
  return txn_.Del(dbs_.deadlines, codec::DeadlineKey(due, case_id, name));
}

Status StateBatch::FirstDeadlineDue(int64_t until, int64_t* due, std::string* case_id,
                                    std::string* name) {
  if (!cursor_) {
    CASEGRID_ASSIGN_OR_RETURN(cursor_, lmdb::Cursor::Open(txn_, dbs_.deadlines));
  }
  if (!cursor_->First()) return Status::NotFound("no deadline");
  std::string_view c, n;
  if (!codec::ParseDeadlineKey(cursor_->key(), due, &c, &n)) {
    return Status::Corruption("deadlines: malformed key");
  }
  if (*due > until) return Status::NotFound("no deadline due");
  case_id->assign(c);
  name->assign(n);
  return Status::Ok();
}

Status ReadOne(lmdb::Environment& env, MDB_dbi dbi, std::string_view key, std::string* out) {
  CASEGRID_ASSIGN_OR_RETURN(auto txn, lmdb::Txn::Begin(&env, false));
  std::string_view v;
  CASEGRID_RETURN_IF_ERROR(txn->Get(dbi, key, &v));
  out->assign(v);
  return Status::Ok();
}

}  // namespace casegrid::events
