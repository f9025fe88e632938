// SPDX-License-Identifier: BSD-3-Clause
// http/server.cpp - the HTTP/1.1 server (see server.hpp). One coroutine per connection reads
// until a whole request head has arrived (parse_request says when, or what is wrong), reads the
// body (after "100 Continue" if the client waits for it), answers, and goes on with the next
// request on the connection (pipelined requests are simply already in the buffer). Every read and write races a timer (awaitable operators, with
// the socket's per-operation cancellation), so no client can hold a connection longer than the
// limits allow.
#include "server.hpp"

#include "response.hpp"
#include "file_cache.hpp"
#include "static_files.hpp"
#include "tunstack/tcp.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <sys/stat.h>

#include <array>
#include <fstream>
#include <variant>

namespace tunstack::services {
namespace {

// Files up to this size are sent with their head in one write.
constexpr std::uintmax_t small_file = 64 * 1024;

// The interim response to "Expect: 100-continue" (RFC 9110 15.2.1): a status line, no fields.
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";


using tunstack::tcp;
using namespace asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

struct server_state {
  http_options options;
  std::shared_ptr<const status> model;
  counters_ptr counters;
  // Small files in memory for a second at a time: at most 256 x 64 KiB.
  http::file_cache files{256, small_file, std::chrono::seconds(1)};
};

// What to send: a head, then either a body in memory or a file's contents.
struct reply {
  http::response_head head;
  std::string body;
  std::optional<std::filesystem::path> file;
};

reply error_reply(int status, std::string_view detail, bool close) {
  reply r;
  r.head.status = status;
  r.head.content_type = "text/html; charset=utf-8";
  r.body = http::error_page(status, detail);
  r.head.content_length = r.body.size();
  r.head.close = close;
  if (status == 405) r.head.extra.emplace_back("Allow", "GET, HEAD");
  if (status == 503) r.head.extra.emplace_back("Retry-After", "1");
  return r;
}

// What the server does with a request's method: GET and HEAD are answered, others get 405.
bool method_allowed(const http::request& req) { return req.method == "GET" || req.method == "HEAD"; }

reply method_not_allowed(bool close) { return error_reply(405, "this server answers GET and HEAD only", close); }

reply page(std::string body, std::string type) {
  reply r;
  r.head.content_type = std::move(type);
  r.body = std::move(body);
  r.head.content_length = r.body.size();
  r.head.extra.emplace_back("Cache-Control", "no-store");
  return r;
}

std::optional<std::chrono::system_clock::time_point> modified_time(const std::filesystem::path& p, std::uintmax_t& size) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  size = static_cast<std::uintmax_t>(st.st_size);
  return std::chrono::system_clock::from_time_t(st.st_mtime);
}

// A file's head: its type and Last-Modified, and 304 if the client has it already.
reply file_head(const std::filesystem::path& path, std::chrono::system_clock::time_point modified,
                const http::request& req) {
  reply r;
  r.head.content_type = std::string(http::mime_type(path));
  r.head.extra.emplace_back("Last-Modified", http::http_date(modified));
  if (http::not_modified(req, modified)) r.head.status = 304;
  return r;
}

// A file from memory.
reply file_reply(const http::cached_file& f, const http::request& req) {
  reply r = file_head(f.path, f.modified, req);
  if (r.head.status == 304) return r;
  r.head.content_length = f.content.size();
  r.body = f.content;
  return r;
}

reply handle(server_state& state, const http::request& req) {
  if (!method_allowed(req)) return method_not_allowed(false);
  const std::string_view path = req.path();
  if (path == "/" || path == "/stats.json") {
    // Both list one page of the TCP connections (?connections=N|all&offset=M); all are counted.
    const auto connections = connection_page::parse(req.target);
    if (!connections.error.empty()) return error_reply(400, connections.error, false);
    if (path == "/") return page(status::html(state.model->snapshot(connections)), "text/html; charset=utf-8");
    return page(state.model->snapshot(connections).dump(2) + "\n", "application/json");
  }
  if (path == "/metrics") {
    return page(status::prometheus(state.model->snapshot({.limit = 0})), "text/plain; version=0.0.4; charset=utf-8");
  }
  if (!state.options.www) return error_reply(404, "no such page (start tunstack with --www DIR to serve files)", false);

  const auto now = http::file_cache::clock::now();
  if (const auto cached = state.files.find(path, now)) return file_reply(*cached, req);
  const http::file_lookup found = http::resolve_file(*state.options.www, path);
  if (found.status != 200) return error_reply(found.status, found.reason, found.status == 400);
  std::uintmax_t size = 0;
  const auto mtime = modified_time(found.path, size);
  if (!mtime) return error_reply(404, "no such file", false);
  if (size <= state.files.max_file()) {
    // Read whole (one more byte than its size, to notice a file that grew meanwhile), kept.
    http::cached_file f{found.path, std::string(size + 1, '\0'), *mtime};
    std::ifstream in(found.path, std::ios::binary);
    in.read(f.content.data(), static_cast<std::streamsize>(f.content.size()));
    if (static_cast<std::uintmax_t>(in.gcount()) != size) {
      return error_reply(503, "the file changed while it was read; try again", false);
    }
    f.content.resize(size);
    reply r = file_reply(f, req);
    state.files.store(path, std::move(f), now);
    return r;
  }
  reply r = file_head(found.path, *mtime, req);  // a large file: read as it is sent
  if (r.head.status == 304) return r;
  r.head.content_length = size;
  r.file = found.path;
  return r;
}

class connection {
 public:
  connection(tcp::socket s, std::shared_ptr<server_state> state)
      : socket_(std::move(s)), timer_(socket_.get_executor()), state_(std::move(state)) {}

  asio::awaitable<void> run() {
    session_guard guard{state_->counters};
    auto& c = *state_->counters;
    if (c.connections_active > state_->options.max_connections) {
      ++c.extra["rejected_busy"];
      co_await send(error_reply(503, "too many connections; try again", true), false);
      co_return;
    }
    for (;;) {
      // 1. A whole request head: wait up to the idle timeout for its first byte, then up to the
      //    header timeout for the rest.
      http::parse_result parsed;
      auto deadline = clock::now() + (in_.empty() ? state_->options.idle_timeout : state_->options.header_timeout);
      bool started = !in_.empty();
      for (;;) {
        parsed = http::parse_request(in_, state_->options.limits);
        if (parsed.what != http::parse_result::kind::incomplete) break;
        const auto got = co_await receive(deadline);
        if (got == read_result::timed_out) {
          if (started) {
            ++c.extra["timeouts"];
            co_await send(error_reply(408, "the request took too long to arrive", true), false);
          }
          co_return;
        }
        if (got == read_result::closed) co_return;
        if (!started) {
          started = true;
          deadline = clock::now() + state_->options.header_timeout;
        }
      }
      if (parsed.what == http::parse_result::kind::error) {
        ++c.extra["bad_requests"];
        co_await send(error_reply(parsed.status, parsed.reason, true), false);
        co_return;
      }
      ++c.extra["requests"];
      const http::request& req = parsed.req;

      // 2. The body (any method may send one; it is read so the next request lines up). A
      //    client that sent "Expect: 100-continue" may hold the body back until we answer
      //    (RFC 9110 10.1.1): a server that reads the body MUST send 100 Continue first, without
      //    waiting for it, or else a final status at once. Only the method decides our answer
      //    before the body (the parser answered 413 for one over --http-max-body, 417 for
      //    another expectation): a method we refuse gets its 405 now, and the connection closes,
      //    since the client may send the body or not; the rest get 100 Continue. Once some of
      //    the body is here the client is not waiting, and 100 may be left out (10.1.1).
      if (req.expect_continue && req.content_length > 0 && in_.size() == parsed.head_size) {
        if (!method_allowed(req)) {
          co_await send(method_not_allowed(true), false);
          co_return;
        }
        ++c.extra["responses_1xx"];
        if (!co_await write(asio::buffer(continue_response.data(), continue_response.size()))) co_return;
      }
      while (in_.size() < parsed.head_size + req.content_length) {
        const auto got = co_await receive(deadline);
        if (got == read_result::timed_out) {
          ++c.extra["timeouts"];
          co_await send(error_reply(408, "the request body took too long to arrive", true), false);
          co_return;
        }
        if (got == read_result::closed) co_return;
      }
      in_.erase(0, parsed.head_size + req.content_length);

      // 3. The answer.
      reply r = handle(*state_, req);
      if (!req.keep_alive()) r.head.close = true;
      if (!co_await send(std::move(r), req.method == "HEAD")) co_return;  // false after a close
    }
  }

 private:
  enum class read_result { data, closed, timed_out };

  // Reads more into in_, giving up at the deadline.
  asio::awaitable<read_result> receive(clock::time_point deadline) {
    timer_.expires_at(deadline);
    auto result = co_await (socket_.async_read_some(asio::buffer(buffer_), use_tuple) || timer_.async_wait(use_tuple));
    if (result.index() == 1) co_return read_result::timed_out;
    const auto [ec, n] = std::get<0>(result);
    if (ec) co_return read_result::closed;
    in_.append(buffer_.data(), n);
    state_->counters->bytes_in += n;
    co_return read_result::data;
  }

  // Writes with a deadline of the idle timeout per write (a client that stops reading is cut).
  asio::awaitable<bool> write(asio::const_buffer data) {
    timer_.expires_after(state_->options.idle_timeout);
    auto result = co_await (asio::async_write(socket_, data, use_tuple) || timer_.async_wait(use_tuple));
    if (result.index() == 1) {
      ++state_->counters->extra["timeouts"];
      co_return false;
    }
    const auto [ec, n] = std::get<0>(result);
    state_->counters->bytes_out += n;
    co_return !ec;
  }

  // Sends a reply (head only for HEAD); false if the connection is gone or must close.
  asio::awaitable<bool> send(reply r, bool head_only) {
    auto& c = *state_->counters;
    ++c.extra["responses_" + std::to_string(r.head.status / 100) + "xx"];
    std::string head = http::serialize(r.head, std::chrono::system_clock::now());
    // Answers in memory (pages, small files) go out with their head in one write, so one
    // segment carries the whole answer: with the body in a second write, Nagle holds it until
    // the client's (delayed) ACK of the head, which cost keep-alive clients about 40 ms per request.
    if (!head_only && !r.file) head += r.body;
    if (!co_await write(asio::buffer(head))) co_return false;
    if (!head_only && r.file) {
      std::ifstream in(*r.file, std::ios::binary);
      std::array<char, 64 * 1024> chunk;
      std::uintmax_t left = r.head.content_length;
      while (left > 0) {
        in.read(chunk.data(), static_cast<std::streamsize>(std::min<std::uintmax_t>(chunk.size(), left)));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        if (!co_await write(asio::buffer(chunk.data(), n))) co_return false;
        left -= n;
      }
      if (left > 0) co_return false;  // the file shrank under us: the length we sent is wrong
    }
    if (r.head.close) {
      std::error_code ignored;
      socket_.shutdown(asio::socket_base::shutdown_send, ignored);
      co_await linger();
      co_return false;
    }
    co_return true;
  }

  // After our FIN, reads (and drops) what the client still sends for a moment before the
  // socket closes: closing with unread data would reset the connection and the client could
  // lose our answer (RFC 9112 9.6, "lingering close").
  asio::awaitable<void> linger() {
    const auto deadline = clock::now() + std::chrono::seconds(1);
    std::size_t drained = 0;
    in_.clear();
    while (drained < 256 * 1024 && co_await receive(deadline) == read_result::data) {
      drained += in_.size();
      in_.clear();
    }
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<server_state> state_;
  std::string in_;
  std::array<char, 16 * 1024> buffer_;
};

asio::awaitable<void> serve(tcp::socket s, std::shared_ptr<server_state> state) {
  connection c{std::move(s), std::move(state)};
  co_await c.run();
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, std::shared_ptr<server_state> state) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || ec == asio::error::connection_aborted) co_return;
    if (ec) continue;
    // As nginx does for keep-alive: answers go out at once, not when the previous one is ACKed.
    std::error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(s.get_executor(), serve(std::move(s), state), asio::detached);
  }
}

}  // namespace

counters_ptr start_http(tunstack::stack& st, http_options options, std::shared_ptr<const status> model) {
  auto state = std::make_shared<server_state>();
  state->counters = make_counters("http", "tcp", options.port);
  state->options = std::move(options);
  state->model = std::move(model);
  tcp::acceptor acceptor{st, {tcp::v6(), state->options.port}};
  asio::co_spawn(st.get_executor(), accept_loop(std::move(acceptor), state), asio::detached);
  return state->counters;
}

}  // namespace tunstack::services
