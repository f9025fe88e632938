// SPDX-License-Identifier: BSD-3-Clause
// log_line.cpp - the tunstack program's log lines on stderr (see log_line.hpp).
#include "log_line.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace tunstack::app {

std::string timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<milliseconds>(t.time_since_epoch());
  auto seconds = since_epoch.count() / 1000;
  auto millis = since_epoch.count() % 1000;
  if (millis < 0) millis += 1000, --seconds;  // before 1970: floor, not truncate
  const std::time_t whole = static_cast<std::time_t>(seconds);
  std::tm local{};
  ::localtime_r(&whole, &local);
  char buffer[40];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
  std::snprintf(buffer + n, sizeof buffer - n, ".%03d", static_cast<int>(millis));
  return buffer;
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  std::uintmax_t device = 0, inode = 0;
  if (std::sscanf(stream, "%ju:%ju", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<std::uintmax_t>(st.st_dev) == device && static_cast<std::uintmax_t>(st.st_ino) == inode;
}

std::string log_writer::format(std::string_view text) const {
  std::string line;
  if (timestamps_) line = timestamp(std::chrono::system_clock::now()) + ' ';
  line += "tunstack: ";
  line += text;
  return line;
}

void log_writer::operator()(std::string_view text) const {
  const std::string line = format(text) + '\n';
  // One write: a line is never split by another thread's. Nothing to do if stderr is gone
  // (e.g. its terminal was closed).
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace tunstack::app
