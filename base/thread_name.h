// casegrid::NameThisThread: the name the system shows for the calling
// thread (top -H, ps -L, /proc/PID/task/TID/comm, perf's comm, gdb), so that
// an operator or a profile tells the engine's committer from the HTTP
// workers. Linux keeps 15 bytes of a name; a longer one is cut there.
// Best effort: a name the system refuses leaves the old one.
#ifndef CASEGRID_BASE_THREAD_NAME_H_
#define CASEGRID_BASE_THREAD_NAME_H_

#include <pthread.h>

#include <string_view>

namespace casegrid {

inline void NameThisThread(std::string_view name) {
  char cut[16] = {};
  name.copy(cut, sizeof cut - 1);
  ::pthread_setname_np(::pthread_self(), cut);
}

}  // namespace casegrid

#endif  // CASEGRID_BASE_THREAD_NAME_H_
