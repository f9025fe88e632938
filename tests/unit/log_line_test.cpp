// SPDX-License-Identifier: BSD-3-Clause
// log_line_test.cpp - the tunstack program's log lines: the timestamp's exact form, lines with
// and without it, and no timestamps when stderr is the systemd journal (JOURNAL_STREAM).
#include "log_line.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <string>

using tunstack::app::log_writer;
using tunstack::app::timestamp;

namespace {

// Whether @p text starts with "YYYY-MM-DD HH:MM:SS.mmm " (digits where the letters are). No
// std::regex: GCC 12 warns about its internals under the asan preset's -O1.
bool starts_with_timestamp(const std::string& text) {
  const std::string shape = "dddd-dd-dd dd:dd:dd.ddd ";
  if (text.size() < shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(text[i])) : text[i] != shape[i]) return false;
  }
  return true;
}

// Sets an environment variable for one scope and restores what was there.
class scoped_env {
 public:
  scoped_env(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
    ::tzset();
  }
  ~scoped_env() {
    if (old_.empty()) ::unsetenv(name_); else ::setenv(name_, old_.c_str(), 1);
    ::tzset();
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::string old_;
};

}  // namespace

TEST_CASE("log lines: the timestamp is the local date and time to the millisecond") {
  using namespace std::chrono;
  const auto t = system_clock::from_time_t(1714567402) + milliseconds(481);
  {
    scoped_env tz("TZ", "UTC");
    CHECK(timestamp(t) == "2024-05-01 12:43:22.481");
    CHECK(timestamp(system_clock::from_time_t(1714567402) + microseconds(999)) == "2024-05-01 12:43:22.000");
  }
  scoped_env tz("TZ", "IST-5:30");  // POSIX form (+05:30): no tzdata needed
  CHECK(timestamp(t) == "2024-05-01 18:13:22.481");
}

TEST_CASE("log lines: tunstack: TEXT, after the date and time unless they are turned off") {
  scoped_env no_journal("JOURNAL_STREAM", "");
  CHECK(log_writer{false}.format("stopped (SIGINT)") == "tunstack: stopped (SIGINT)");
  const log_writer stamped{true};
  REQUIRE(stamped.timestamps());
  const std::string line = stamped.format("stopped (SIGINT)");
  CAPTURE(line);
  CHECK(starts_with_timestamp(line));
  CHECK(line.substr(24) == "tunstack: stopped (SIGINT)");
  CHECK_FALSE(starts_with_timestamp("2024-05-01 12:43:22 tunstack: x"));  // no milliseconds
}

TEST_CASE("log lines: no timestamps when stderr is the systemd journal, which stamps each line itself") {
  struct stat st {};
  REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  {
    scoped_env journal("JOURNAL_STREAM", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
    CHECK(tunstack::app::stderr_is_journal());
    CHECK_FALSE(log_writer{true}.timestamps());
    CHECK(log_writer{true}.format("x") == "tunstack: x");
  }
  // Another stream (stderr redirected since systemd started us): stamped again.
  scoped_env other("JOURNAL_STREAM", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1));
  CHECK_FALSE(tunstack::app::stderr_is_journal());
  CHECK(log_writer{true}.timestamps());
}
