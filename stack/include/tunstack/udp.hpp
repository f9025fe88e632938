// SPDX-License-Identifier: BSD-3-Clause
// udp.hpp - tunstack::udp: UDP on the userspace stack, shaped like asio::ip::udp.
#ifndef TUNSTACK_UDP_HPP
#define TUNSTACK_UDP_HPP

#include "tunstack/detail/operation.hpp"
#include "tunstack/error.hpp"
#include "tunstack/tcp.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/udp.hpp>

#include <cstddef>
#include <future>
#include <memory>
#include <system_error>
#include <utility>

namespace tunstack {

class stack;
namespace detail {
class udp_endpoint;
}

/// UDP on a tunstack::stack: the counterpart of asio::ip::udp.
class udp {
 public:
  using endpoint = asio::ip::udp::endpoint;
  static asio::ip::udp v4() noexcept { return asio::ip::udp::v4(); }
  static asio::ip::udp v6() noexcept { return asio::ip::udp::v6(); }
  class socket;
};

namespace detail {
void udp_start_send(const std::shared_ptr<udp_endpoint>& u, const_buffers buffers,
                    const udp::endpoint* destination, completion<std::error_code, std::size_t> handler);
void udp_start_receive(const std::shared_ptr<udp_endpoint>& u, mutable_buffers buffers,
                       udp::endpoint* sender, completion<std::error_code, std::size_t> handler);
}  // namespace detail

/// A UDP socket on a tunstack::stack.
///
/// @par Semantics
/// - Each send is one datagram; it completes once lwIP has sent it (or failed to: no route
///   gives network_unreachable; more than 65507 bytes over IPv4 gives message_size).
/// - Each receive takes one datagram. One larger than the buffers is truncated: the receive
///   completes with asio::error::message_size and the bytes that fit.
/// - Datagrams arriving while nobody receives wait in a queue of up to 512 datagrams or 4 MiB;
///   beyond that they are dropped and counted (as a full SO_RCVBUF drops them).
/// - After connect(), only datagrams from that peer are received, and async_send/async_receive
///   need no endpoint.
/// - Handlers never run inside the initiating call; completions are posted.
///
/// @par Thread safety
/// As tcp::socket: close(), cancel(), move assignment and the destructor never wait for the
/// stack's thread; the blocking functions fail on it; the other synchronous members wait for it
/// from other threads.
///
/// @code
/// tunstack::udp::socket s{st, {tunstack::udp::v4(), 7}};
/// s.async_receive_from(asio::buffer(data), sender, [&](std::error_code ec, std::size_t n) { ... });
/// @endcode
class udp::socket {
 public:
  using executor_type = asio::any_io_executor;
  using protocol_type = asio::ip::udp;
  using endpoint_type = udp::endpoint;

  /// A socket on @p s, not bound yet: the first send binds it to a free port.
  explicit socket(stack& s);
  /// A socket bound to @p local (the unspecified IPv6 address receives IPv4 and IPv6).
  /// @throws std::system_error: address_in_use.
  socket(stack& s, const endpoint_type& local);
  /// The same on the stack that runs on @p ex's io_context (see stack::for_executor and
  /// tcp::socket's constructor from an executor: @p ex, maybe a strand, is the socket's).
  explicit socket(const executor_type& ex);
  socket(const executor_type& ex, const endpoint_type& local);
  socket(socket&& other) noexcept;
  socket& operator=(socket&& other) noexcept;
  ~socket();
  socket(const socket&) = delete;
  socket& operator=(const socket&) = delete;

  executor_type get_executor() const noexcept { return executor_; }
  bool is_open() const noexcept;

  void bind(const endpoint_type& local, std::error_code& ec);
  void bind(const endpoint_type& local) {
    std::error_code ec;
    bind(local, ec);
    detail::throw_if(ec, "tunstack::udp::socket::bind");
  }
  /// Sets the default destination and accepts datagrams only from @p peer.
  void connect(const endpoint_type& peer, std::error_code& ec);
  void connect(const endpoint_type& peer) {
    std::error_code ec;
    connect(peer, ec);
    detail::throw_if(ec, "tunstack::udp::socket::connect");
  }

  /// Sends one datagram to @p destination. Completion: void(std::error_code, std::size_t).
  template <class ConstBufferSequence, class WriteToken = asio::default_completion_token_t<executor_type>>
  auto async_send_to(const ConstBufferSequence& buffers, const endpoint_type& destination,
                     WriteToken&& token = WriteToken()) {
    return asio::async_initiate<WriteToken, void(std::error_code, std::size_t)>(
        initiate_send{impl_, executor_}, token, detail::const_buffers(buffers), destination);
  }
  /// Sends one datagram to the connected peer.
  template <class ConstBufferSequence, class WriteToken = asio::default_completion_token_t<executor_type>>
  auto async_send(const ConstBufferSequence& buffers, WriteToken&& token = WriteToken()) {
    return asio::async_initiate<WriteToken, void(std::error_code, std::size_t)>(
        initiate_send{impl_, executor_}, token, detail::const_buffers(buffers));
  }
  /// Receives one datagram and its sender (@p sender must stay valid until completion).
  template <class MutableBufferSequence, class ReadToken = asio::default_completion_token_t<executor_type>>
  auto async_receive_from(const MutableBufferSequence& buffers, endpoint_type& sender,
                          ReadToken&& token = ReadToken()) {
    return asio::async_initiate<ReadToken, void(std::error_code, std::size_t)>(
        initiate_receive{impl_, executor_}, token, detail::mutable_buffers(buffers), &sender);
  }
  /// Receives one datagram from the connected peer.
  template <class MutableBufferSequence, class ReadToken = asio::default_completion_token_t<executor_type>>
  auto async_receive(const MutableBufferSequence& buffers, ReadToken&& token = ReadToken()) {
    return asio::async_initiate<ReadToken, void(std::error_code, std::size_t)>(
        initiate_receive{impl_, executor_}, token, detail::mutable_buffers(buffers), nullptr);
  }

  /// @name Blocking operations, for threads other than the stack's
  /// @{
  template <class ConstBufferSequence>
  std::size_t send_to(const ConstBufferSequence& buffers, const endpoint_type& destination, std::error_code& ec) {
    return detail::wait_for_transfer(executor_, [&](auto h) { async_send_to(buffers, destination, std::move(h)); }, ec);
  }
  template <class ConstBufferSequence>
  std::size_t send_to(const ConstBufferSequence& buffers, const endpoint_type& destination) {
    std::error_code ec;
    const std::size_t n = send_to(buffers, destination, ec);
    detail::throw_if(ec, "tunstack::udp::socket::send_to");
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t receive_from(const MutableBufferSequence& buffers, endpoint_type& sender, std::error_code& ec) {
    return detail::wait_for_transfer(executor_, [&](auto h) { async_receive_from(buffers, sender, std::move(h)); }, ec);
  }
  template <class MutableBufferSequence>
  std::size_t receive_from(const MutableBufferSequence& buffers, endpoint_type& sender) {
    std::error_code ec;
    const std::size_t n = receive_from(buffers, sender, ec);
    detail::throw_if(ec, "tunstack::udp::socket::receive_from");
    return n;
  }
  /// @}

  void close(std::error_code& ec);
  void close() {
    std::error_code ec;
    close(ec);
    detail::throw_if(ec, "tunstack::udp::socket::close");
  }
  /// Completes a pending receive with operation_aborted.
  void cancel(std::error_code& ec);
  void cancel() {
    std::error_code ec;
    cancel(ec);
    detail::throw_if(ec, "tunstack::udp::socket::cancel");
  }
  endpoint_type local_endpoint(std::error_code& ec) const;
  endpoint_type local_endpoint() const {
    std::error_code ec;
    auto e = local_endpoint(ec);
    detail::throw_if(ec, "tunstack::udp::socket::local_endpoint");
    return e;
  }
  /// Datagrams dropped because the receive queue was full.
  std::size_t dropped() const noexcept;

 private:
  struct initiate_send {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::udp_endpoint> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h, detail::const_buffers buffers, const endpoint_type& destination) const {
      detail::udp_start_send(impl, std::move(buffers), &destination,
                             detail::completion<std::error_code, std::size_t>(std::forward<Handler>(h), executor));
    }
    template <class Handler>
    void operator()(Handler&& h, detail::const_buffers buffers) const {
      detail::udp_start_send(impl, std::move(buffers), nullptr,
                             detail::completion<std::error_code, std::size_t>(std::forward<Handler>(h), executor));
    }
  };
  struct initiate_receive {
    using executor_type = asio::any_io_executor;
    std::shared_ptr<detail::udp_endpoint> impl;
    executor_type executor;
    executor_type get_executor() const noexcept { return executor; }
    template <class Handler>
    void operator()(Handler&& h, detail::mutable_buffers buffers, endpoint_type* sender) const {
      detail::udp_start_receive(impl, std::move(buffers), sender,
                                detail::completion<std::error_code, std::size_t>(std::forward<Handler>(h), executor));
    }
  };

  std::shared_ptr<detail::udp_endpoint> impl_;
  executor_type executor_;
};

}  // namespace tunstack

#endif  // TUNSTACK_UDP_HPP
