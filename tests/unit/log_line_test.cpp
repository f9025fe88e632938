// SPDX-License-Identifier: BSD-3-Clause
// log_line_test.cpp - the tunstack program's log lines: the timestamp's exact form, lines with
// and without it, and no timestamps when stderr is the systemd journal (JOURNAL_STREAM).
#include "log_line.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>

using tunstack::app::log_writer;
using tunstack::app::timestamp;

namespace {

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
  CHECK(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} tunstack: stopped \(SIGINT\))")));
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
