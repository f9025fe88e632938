// SPDX-License-Identifier: BSD-3-Clause
// tcp.hpp - tunstack::tcp: TCP on the userspace stack, shaped like asio::ip::tcp so that Asio
// code moves over by changing `using asio::ip::tcp;` to `using tunstack::tcp;`.
//
// tcp::socket models Asio's AsyncReadStream and AsyncWriteStream: asio::async_read,
// async_write, async_read_until, coroutines, futures and callbacks work unchanged. Errors are
// Asio's codes (eof on an orderly close, connection_reset, timed_out, ...). No lwIP type here.
#ifndef TUNSTACK_TCP_HPP
#define TUNSTACK_TCP_HPP

#include "tunstack/detail/operation.hpp"
#include "tunstack/error.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/socket_base.hpp>

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace tunstack {

class stack;
namespace detail {
class tcp_connection;
class tcp_listener;
}  // namespace detail

/// TCP on a tunstack::stack: the counterpart of asio::ip::tcp.
class tcp {
 public:
  /// Endpoints and protocols are Asio's own types.
  using endpoint = asio::ip::tcp::endpoint;
  static asio::ip::tcp v4() noexcept { return asio::ip::tcp::v4(); }
  static asio::ip::tcp v6() noexcept { return asio::ip::tcp::v6(); }

  class socket;
  class acceptor;

  /// Socket option: Nagle's algorithm off (true) or on (false). Same type as Asio's.
  using no_delay = asio::ip::tcp::no_delay;
  /// Socket option: send keep-alive probes on an idle connection. Same type as Asio's.
  using keep_alive = asio::socket_base::keep_alive;
  /// Socket option: idle time before the first keep-alive probe (Linux TCP_KEEPIDLE).
  struct keep_alive_idle {
    std::chrono::milliseconds value{7'200'000};
  };
  /// Socket option: time between keep-alive probes (Linux TCP_KEEPINTVL).
  struct keep_alive_interval {
    std::chrono::milliseconds value{75'000};
  };
  /// Socket option: unanswered probes before the connection times out (Linux TCP_KEEPCNT).
  struct keep_alive_count {
    unsigned value = 9;
  };
};

namespace detail {
// Entry points of the socket's operations; defined in tcp_socket.cpp. Each may be called from
// any thread: the work is done on the stack's thread.
// @p slot is the socket's connection: a closed socket (null) gets a new one on @p ex's stack.
void tcp_start_connect(std::shared_ptr<tcp_connection>& slot, const asio::any_io_executor& ex,
                       const tcp::endpoint& peer, completion<std::error_code> handler);
void tcp_start_read(const std::shared_ptr<tcp_connection>& c, mutable_buffers buffers,
                    completion<std::error_code, std::size_t> handler);
void tcp_start_write(const std::shared_ptr<tcp_connection>& c, const_buffers buffers,
                     completion<std::error_code, std::size_t> handler);
void tcp_start_wait(const std::shared_ptr<tcp_connection>& c, asio::socket_base::wait_type what,
                    completion<std::error_code> handler);
}  // namespace detail

/// A TCP connection on a tunstack::stack.
///
/// Like asio::ip::tcp::socket: open it by connecting (async_connect) or get it from an
/// acceptor; read and write with async_read_some/async_write_some or with Asio's composed
/// operations (asio::async_read, asio::async_write, asio::async_read_until).
///
/// @par Semantics
/// - A read completes with the bytes received so far (at least one), with asio::error::eof
///   and 0 bytes once the peer closed its side and everything was read, or with the
///   connection's error. A zero-size read completes at once with success.
/// - A write completes as soon as the stack took some bytes (as many as fit in its send
///   buffer); it waits while the buffer is full. The returned count may be less than asked:
///   use asio::async_write to send everything.
/// - Received data is acknowledged to the peer only as it is read, so a socket that is not read
///   closes its receive window instead of buffering without bound.
/// - Handlers never run inside the initiating call, and never inside the stack's packet
///   processing: completions are posted to the handler's associated executor.
/// - Destroying or closing a socket completes its pending operations with
///   asio::error::operation_aborted; the connection is closed gracefully (FIN), or reset if
///   received data was never read (as the kernel does). A moved-from socket is closed.
/// - Per-operation cancellation (asio::bind_cancellation_slot, awaitable operators) is
///   supported for connect, read and write.
///
/// @par Thread safety
/// Distinct objects: safe. Shared objects: unsafe, as with Asio's sockets. Operations may be
/// started from any thread; the work happens on the stack's thread. What may wait, and where:
/// - close(), cancel(), move assignment and the destructor never wait for the stack's thread.
///   On that thread (or while nobody runs the io_context) they act at once; on another thread
///   they hand the work to the stack's thread and return: is_open() is false at once, pending
///   operations complete with operation_aborted and the FIN (or RST) follows when the stack's
///   thread gets to it (at the latest when the stack is destroyed). So a thread may close or
///   destroy a socket while the stack's thread runs a handler that waits for that thread.
/// - The blocking functions (connect, read_some, write_some, wait) wait for the operation;
///   on the stack's thread they fail with tunstack::errc::blocking_on_stack_thread instead of
///   deadlocking.
/// - The other synchronous members (shutdown, bind, available, local_endpoint,
///   remote_endpoint, set_option, get_option) return the stack's answer: on the stack's thread
///   they run at once; on another thread they wait until the stack's thread has run them (after
///   the handlers queued before), so they must not be called from a thread the stack's thread
///   is waiting for.
///
/// @code
/// asio::awaitable<void> echo(tunstack::tcp::socket s) {
///   char data[4096];
///   for (;;) {
///     std::size_t n = co_await s.async_read_some(asio::buffer(data), asio::use_awaitable);
///     co_await asio::async_write(s, asio::buffer(data, n), asio::use_awaitable);
///   }
/// }
/// @endcode
class tcp::socket {
 public:
  using executor_type = asio::any_io_executor;
  using protocol_type = asio::ip::tcp;
  using endpoint_type = tcp::endpoint;
  /// A socket is the lowest layer of a stack of streams, as Asio's sockets are: what
  /// asio::ssl::stream<tunstack::tcp::socket> (and other layered streams) reach for.
  using lowest_layer_type = socket;
  /// What async_wait() waits for: wait_read, wait_write, wait_error (Asio's own values).
  using wait_type = asio::socket_base::wait_type;
  static constexpr wait_type wait_read = asio::socket_base::wait_read;
  static constexpr wait_type wait_write = asio::socket_base::wait_write;
  static constexpr wait_type wait_error = asio::socket_base::wait_error;

  /// A socket on @p s, not connected yet.
  explicit socket(stack& s);
  /// A socket on the stack that runs on @p ex's io_context (see stack::for_executor); @p ex may
  /// be that io_context's executor or a strand of it, and is the socket's executor: handlers
  /// without an associated executor of their own run on it.
  /// @throws std::system_error (tunstack::errc::no_stack) if there is none, or if @p ex is not
  /// an io_context's (a thread_pool's executor, say).
  explicit socket(const executor_type& ex);
  socket(socket&& other) noexcept;
  socket& operator=(socket&& other) noexcept;
  ~socket();
  socket(const socket&) = delete;
  socket& operator=(const socket&) = delete;

  executor_type get_executor() const noexcept { return executor_; }
  /// True from construction until close() (or until moved from), and again once a connect
  /// reopened it.
  bool is_open() const noexcept;

  /// This socket (see lowest_layer_type).
  lowest_layer_type& lowest_layer() noexcept { return *this; }
  const lowest_layer_type& lowest_layer() const noexcept { return *this; }

  /// Sets the local address (and port; 0: any free one) the next connect uses, as
  /// asio::ip::tcp::socket::bind does before connecting. Packets leave through the interface
  /// that owns the address. Fails with already_connected on a connected socket; an address the
  /// stack does not own, or a port in use, fails the connect (address_not_available,
  /// address_in_use), not this call.
  void bind(const endpoint_type& local, std::error_code& ec);
  void bind(const endpoint_type& local) {
    std::error_code ec;
    bind(local, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::bind");
  }

  /// Connects to @p peer. Completion signature: void(std::error_code).
  /// A closed or moved-from socket is opened again first, as Asio's sockets are, and a socket
  /// whose connection ended (reset, timed out) connects afresh: nothing of the previous
  /// connection (unread data, shutdowns, its error) carries over.
  /// Errors: connection_refused (the peer answered with RST), timed_out (no answer after
  /// lwIP's SYN retries), network_unreachable (no route), already_connected, already_started.
  template <class ConnectToken = asio::default_completion_token_t<executor_type>>
  auto async_connect(const endpoint_type& peer, ConnectToken&& token = ConnectToken()) {
    return asio::async_initiate<ConnectToken, void(std::error_code)>(initiate_connect{this}, token, peer);
  }

  /// Reads some bytes. Completion signature: void(std::error_code, std::size_t).
  template <class MutableBufferSequence,
            class ReadToken = asio::default_completion_token_t<executor_type>>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token = ReadToken()) {
    return asio::async_initiate<ReadToken, void(std::error_code, std::size_t)>(
        initiate_read{impl_, executor_}, token, detail::mutable_buffers(buffers));
  }

  /// Writes some bytes. Completion signature: void(std::error_code, std::size_t).
  template <class ConstBufferSequence,
            class WriteToken = asio::default_completion_token_t<executor_type>>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token = WriteToken()) {
    return asio::async_initiate<WriteToken, void(std::error_code, std::size_t)>(
        initiate_write{impl_, executor_}, token, detail::const_buffers(buffers));
  }

  /// Waits until the socket is ready to read (data, the peer's FIN, or an error a read would
  /// report), to write (room in the send buffer, or an error a write would report; a connect in
  /// progress is not ready), or has an error (the connection was reset, timed out, ...), as
  /// asio::ip::tcp::socket::async_wait does. Completion signature: void(std::error_code):
  /// success when ready, operation_aborted after cancel(), close() or a cancellation signal,
  /// bad_descriptor on a closed socket, connection_aborted once the stack is gone. Several
  /// waits may be pending at once.
  /// @code
  /// co_await socket.async_wait(tunstack::tcp::socket::wait_read, asio::use_awaitable);
  /// std::vector<char> data(socket.available());
  /// @endcode
  template <class WaitToken = asio::default_completion_token_t<executor_type>>
  auto async_wait(wait_type what, WaitToken&& token = WaitToken()) {
    return asio::async_initiate<WaitToken, void(std::error_code)>(initiate_wait{impl_, executor_}, token, what);
  }

  /// The number of bytes received and not read yet: what a read takes at once without waiting.
  /// 0 on a socket that is not connected; bad_descriptor on a closed one.
  std::size_t available(std::error_code& ec) const;
  std::size_t available() const {
    std::error_code ec;
    const std::size_t n = available(ec);
    detail::throw_if(ec, "tunstack::tcp::socket::available");
    return n;
  }

  /// @name Blocking operations, for threads other than the stack's
  /// Each waits for the asynchronous operation to complete. The error_code overloads report
  /// failures in @p ec; the others throw std::system_error naming the operation.
  /// @{
  /// Blocking async_wait().
  void wait(wait_type what, std::error_code& ec);
  void wait(wait_type what) {
    std::error_code ec;
    wait(what, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::wait");
  }
  void connect(const endpoint_type& peer, std::error_code& ec);
  void connect(const endpoint_type& peer) {
    std::error_code ec;
    connect(peer, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::connect");
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, std::error_code& ec) {
    return detail::wait_for_transfer(executor_, [&](auto h) { async_read_some(buffers, std::move(h)); }, ec);
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    std::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::read_some");
    return n;
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers, std::error_code& ec) {
    return detail::wait_for_transfer(executor_, [&](auto h) { async_write_some(buffers, std::move(h)); }, ec);
  }
  template <class ConstBufferSequence>
  std::size_t write_some(const ConstBufferSequence& buffers) {
    std::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::write_some");
    return n;
  }
  /// @}

  /// Shuts down sending (a FIN after the queued data), receiving (later reads report eof;
  /// arriving data is acknowledged and dropped), or both.
  void shutdown(asio::socket_base::shutdown_type what, std::error_code& ec);
  void shutdown(asio::socket_base::shutdown_type what) {
    std::error_code ec;
    shutdown(what, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::shutdown");
  }
  /// Closes the socket: pending operations complete with operation_aborted, the connection
  /// is closed gracefully (or reset, if received data was left unread). Never waits for the
  /// stack's thread (see Thread safety); the socket can connect again afterwards.
  void close(std::error_code& ec);
  void close() {
    std::error_code ec;
    close(ec);
    detail::throw_if(ec, "tunstack::tcp::socket::close");
  }
  /// Completes pending operations with operation_aborted (a pending connect is abandoned).
  /// Never waits for the stack's thread.
  void cancel(std::error_code& ec);
  void cancel() {
    std::error_code ec;
    cancel(ec);
    detail::throw_if(ec, "tunstack::tcp::socket::cancel");
  }

  endpoint_type local_endpoint(std::error_code& ec) const;
  endpoint_type local_endpoint() const {
    std::error_code ec;
    auto e = local_endpoint(ec);
    detail::throw_if(ec, "tunstack::tcp::socket::local_endpoint");
    return e;
  }
  endpoint_type remote_endpoint(std::error_code& ec) const;
  endpoint_type remote_endpoint() const {
    std::error_code ec;
    auto e = remote_endpoint(ec);
    detail::throw_if(ec, "tunstack::tcp::socket::remote_endpoint");
    return e;
  }

  /// @name Options: tcp::no_delay, tcp::keep_alive, tcp::keep_alive_idle,
  /// tcp::keep_alive_interval, tcp::keep_alive_count. Options set before connecting apply once
  /// the connection exists. Keep-alive settings fail with invalid_argument when
  /// idle + count * interval exceeds 2^32 - 1 ms (about 49 days), which lwIP cannot represent.
  /// @{
  template <class Option>
  void set_option(const Option& option) {
    std::error_code ec;
    set_option(option, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::set_option");
  }
  template <class Option>
  void get_option(Option& option) const {
    std::error_code ec;
    get_option(option, ec);
    detail::throw_if(ec, "tunstack::tcp::socket::get_option");
  }
  void set_option(const tcp::no_delay& option, std::error_code& ec);
  void set_option(const tcp::keep_alive& option, std::error_code& ec);
  void set_option(const tcp::keep_alive_idle& option, std::error_code& ec);
  void set_option(const tcp::keep_alive_interval& option, std::error_code& ec);
  void set_option(const tcp::keep_alive_count& option, std::error_code& ec);
  void get_option(tcp::no_delay& option, std::error_code& ec) const;
  void get_option(tcp::keep_alive& option, std::error_code& ec) const;
  void get_option(tcp::keep_alive_idle& option, std::error_code& ec) const;
  void get_option(tcp::keep_alive_interval& option, std::error_code& ec) const;
  void get_option(tcp::keep_alive_count& option, std::error_code& ec) const;
  /// @}

 private:
  friend class tcp::acceptor;
  friend class detail::tcp_listener;
  socket(std::shared_ptr<detail::tcp_connection> impl, executor_type ex);

  // Holds the socket, not its connection: a closed socket gets a new one when the connect
  // starts (which a deferred operation may do later; the socket must be alive then, as in Asio).
  struct initiate_connect {
    using executor_type = asio::any_io_executor;
    socket* self;
    executor_type get_executor() const noexcept { return self->executor_; }
    template <class Handler>
    void operator()(Handler&& h, const endpoint_type& peer) const {
      detail::tcp_start_connect(self->impl_, self->executor_, peer,
                                detail::completion<std::error_code>(std::forward<Handler>(h), self->executor_));
    }
  };
  struct initiate_read {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::tcp_connection> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h, detail::mutable_buffers buffers) const {
      detail::tcp_start_read(impl, std::move(buffers),
                             detail::completion<std::error_code, std::size_t>(std::forward<Handler>(h), executor));
    }
  };
  struct initiate_write {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::tcp_connection> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h, detail::const_buffers buffers) const {
      detail::tcp_start_write(impl, std::move(buffers),
                              detail::completion<std::error_code, std::size_t>(std::forward<Handler>(h), executor));
    }
  };

  struct initiate_wait {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::tcp_connection> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h, wait_type what) const {
      detail::tcp_start_wait(impl, what, detail::completion<std::error_code>(std::forward<Handler>(h), executor));
    }
  };

  std::shared_ptr<detail::tcp_connection> impl_;
  executor_type executor_;
};

namespace detail {
void tcp_start_accept(const std::shared_ptr<tcp_listener>& l,
                      completion<std::error_code, tcp::socket> handler);
}  // namespace detail

/// Accepts TCP connections on a tunstack::stack: the counterpart of asio::ip::tcp::acceptor.
///
/// The constructor binds and listens. Connections that complete the handshake while nobody is
/// accepting wait in the backlog; when it is full, further SYNs are dropped (the client
/// retries), as Linux does. Half-open connections (SYN-RECEIVED, e.g. under a SYN flood) are
/// limited separately, to the backlog but at most 255 (lwIP counts them in a u8).
///
/// @code
/// tunstack::tcp::acceptor acceptor{st, {tunstack::tcp::v4(), 7}};
/// acceptor.async_accept([](std::error_code ec, tunstack::tcp::socket s) { ... });
/// @endcode
class tcp::acceptor {
 public:
  using executor_type = asio::any_io_executor;
  using protocol_type = asio::ip::tcp;
  using endpoint_type = tcp::endpoint;

  /// Binds to @p local (the unspecified IPv6 address accepts IPv4 and IPv6) and listens.
  /// Port 0 picks a free port (see local_endpoint()).
  /// @throws std::system_error: address_in_use if another listener has the address and port.
  acceptor(stack& s, const endpoint_type& local,
           int backlog = asio::socket_base::max_listen_connections);
  /// The same on the stack that runs on @p ex's io_context, as asio::ip::tcp::acceptor(ex,
  /// endpoint, reuse_address) would. Addresses are always reusable after TIME-WAIT here. @p ex
  /// (the io_context's executor or a strand of it) is the acceptor's executor and that of the
  /// sockets it accepts.
  /// @throws std::system_error: tunstack::errc::no_stack as for tcp::socket, address_in_use.
  acceptor(const executor_type& ex, const endpoint_type& local, bool reuse_address = true);
  acceptor(acceptor&& other) noexcept;
  acceptor& operator=(acceptor&& other) noexcept;
  ~acceptor();
  acceptor(const acceptor&) = delete;
  acceptor& operator=(const acceptor&) = delete;

  executor_type get_executor() const noexcept { return executor_; }
  bool is_open() const noexcept;

  /// Accepts one connection. Completion signature: void(std::error_code, tcp::socket).
  template <class AcceptToken = asio::default_completion_token_t<executor_type>>
  auto async_accept(AcceptToken&& token = AcceptToken()) {
    return asio::async_initiate<AcceptToken, void(std::error_code, tcp::socket)>(
        initiate_accept{impl_, executor_}, token);
  }

  /// Blocking accept, for threads other than the stack's.
  tcp::socket accept(std::error_code& ec);
  tcp::socket accept() {
    std::error_code ec;
    auto s = accept(ec);
    detail::throw_if(ec, "tunstack::tcp::acceptor::accept");
    return s;
  }

  /// Stops listening: a pending accept completes with operation_aborted; connections waiting
  /// in the backlog are reset. Like the destructor, never waits for the stack's thread (as
  /// tcp::socket::close()); a new acceptor made afterwards on any thread finds the port free.
  void close(std::error_code& ec);
  void close() {
    std::error_code ec;
    close(ec);
    detail::throw_if(ec, "tunstack::tcp::acceptor::close");
  }
  /// Completes a pending accept with operation_aborted; keeps listening.
  void cancel(std::error_code& ec);
  void cancel() {
    std::error_code ec;
    cancel(ec);
    detail::throw_if(ec, "tunstack::tcp::acceptor::cancel");
  }

  endpoint_type local_endpoint(std::error_code& ec) const;
  endpoint_type local_endpoint() const {
    std::error_code ec;
    auto e = local_endpoint(ec);
    detail::throw_if(ec, "tunstack::tcp::acceptor::local_endpoint");
    return e;
  }

 private:
  acceptor(stack& s, const executor_type& ex, const endpoint_type& local, int backlog);

  struct initiate_accept {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::tcp_listener> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h) const {
      detail::tcp_start_accept(impl, detail::completion<std::error_code, tcp::socket>(std::forward<Handler>(h), executor));
    }
  };

  std::shared_ptr<detail::tcp_listener> impl_;
  executor_type executor_;
};

}  // namespace tunstack

#endif  // TUNSTACK_TCP_HPP
