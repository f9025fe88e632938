// SPDX-License-Identifier: BSD-3-Clause
// for_executor_test.cpp - sockets made from an executor alone (as Asio code makes them) find
// the process's stack, or a provider's, through stack::for_executor. When there is none, the
// error must reach the user: thrown as std::system_error, and printed to stderr when nothing
// looked at it, e.g. inside a coroutine spawned with asio::detached (which discards it).
#include "tunstack/error.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"
#include "tunstack/udp.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

using tunstack::tcp;

namespace {

// What the code under test writes to stderr (file descriptor 2) while f runs.
std::string stderr_of(const std::function<void()>& f) {
  std::fflush(stderr);
  char path[] = "/tmp/tunstack-stderr-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  ::unlink(path);
  return text.str();
}

// Asio's echo server makes its acceptor this way: from the coroutine's own executor.
asio::awaitable<void> listener(bool& reached_end) {
  auto executor = co_await asio::this_coro::executor;
  tcp::acceptor acceptor{executor, {tcp::v4(), 55555}};
  reached_end = true;
}

// Makes sure no provider from another test is left behind.
struct no_provider {
  tunstack::stack::provider previous = tunstack::stack::set_provider({});
  ~no_provider() { tunstack::stack::set_provider(previous); }
};

}  // namespace

TEST_CASE("for_executor: no stack inside a detached coroutine is reported on stderr, not swallowed") {
  no_provider guard;
  asio::io_context io;
  bool reached_end = false;
  const std::string printed = stderr_of([&] {
    asio::co_spawn(io, listener(reached_end), asio::detached);
    io.run();
  });
  CHECK_FALSE(reached_end);
  CHECK_MESSAGE(printed.find("no tunstack::stack runs on this executor's io_context") != std::string::npos, printed);
  CHECK_MESSAGE(printed.find("asio::detached") != std::string::npos, printed);
}

TEST_CASE("for_executor: an error the caller caught and read is not printed again") {
  no_provider guard;
  asio::io_context io;
  std::error_code code;
  std::string what;
  const std::string printed = stderr_of([&] {
    try {
      tcp::acceptor acceptor{io.get_executor(), {tcp::v4(), 7}};
    } catch (const std::system_error& e) {
      code = e.code();
      what = e.what();
    }
    try {
      tunstack::udp::socket socket{io.get_executor()};
    } catch (const std::system_error& e) {
      what += e.what();
    }
  });
  CHECK(code == tunstack::errc::no_stack);
  CHECK(what.find("link tunstack::autostart") != std::string::npos);
  CHECK_MESSAGE(printed.empty(), printed);
}

TEST_CASE("for_executor: a provider's failure reaches the caller as system_error, and stderr if dropped") {
  no_provider guard;
  tunstack::stack::set_provider([](asio::io_context&) -> tunstack::stack& {
    throw std::invalid_argument("tunstack autostart: TUNSTACK_MTU='12' is not an MTU (68..65535)");
  });
  asio::io_context io;
  std::error_code code;
  try {
    tcp::socket socket{io.get_executor()};
  } catch (const std::system_error& e) {
    code = e.code();
    CHECK(std::string(e.what()).find("TUNSTACK_MTU='12'") != std::string::npos);
  }
  CHECK(code == std::errc::invalid_argument);

  bool reached_end = false;
  const std::string printed = stderr_of([&] {
    asio::co_spawn(io, listener(reached_end), asio::detached);
    io.run();
  });
  CHECK_FALSE(reached_end);
  CHECK_MESSAGE(printed.find("TUNSTACK_MTU='12' is not an MTU") != std::string::npos, printed);
}
