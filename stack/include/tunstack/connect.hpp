// SPDX-License-Identifier: BSD-3-Clause
// connect.hpp - tunstack::connect and tunstack::async_connect: connecting a tcp::socket to the
// first endpoint of a sequence that answers, as asio::connect and asio::async_connect do for
// Asio's sockets (those take only asio::basic_socket). Called unqualified with a tunstack
// socket, as in `async_connect(socket, resolver_results, token)`, argument-dependent lookup
// finds these. Like Asio's, each attempt first closes the socket, which a connect then opens
// again afresh.
#ifndef TUNSTACK_CONNECT_HPP
#define TUNSTACK_CONNECT_HPP

#include "tunstack/tcp.hpp"

#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/compose.hpp>
#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>

#include <cstddef>
#include <iterator>
#include <system_error>
#include <type_traits>
#include <utility>

namespace tunstack {

/// Tries every endpoint (the default connect condition of connect and async_connect).
struct default_connect_condition {
  template <class Endpoint>
  bool operator()(const std::error_code&, const Endpoint&) const noexcept {
    return true;
  }
};

/// What connect and async_connect take for a connect condition: called as
/// bool(const std::error_code& last_error, const tcp::endpoint& next) before each attempt.
/// A sequence of endpoints, as Asio's connect functions take (it has an iterator type):
/// asio::ip::tcp::resolver::results_type, std::vector<tcp::endpoint>, ...
template <class T>
concept endpoint_sequence = static_cast<bool>(asio::is_endpoint_sequence<T>::value);

template <class F>
concept connect_condition = std::is_invocable_r_v<bool, F&, const std::error_code&, const tcp::endpoint&>;

namespace detail {

// A pair of iterators used as a sequence, so that one operation serves both forms.
template <class Iterator>
struct iterator_sequence {
  Iterator first, last;
  Iterator begin() const { return first; }
  Iterator end() const { return last; }
};

// The asynchronous operation behind both forms of async_connect. It keeps its own copy of the
// sequence (as Asio's does; resolver results are cheap to copy) and an index into it, since
// iterators into a copy that moves with the operation need not stay valid. @p Result turns the
// final position into what the handler gets (an endpoint, or an iterator).
template <class Sequence, class ConnectCondition, class Result>
class connect_op {
 public:
  connect_op(tcp::socket& socket, Sequence sequence, ConnectCondition condition)
      : socket_(socket), sequence_(std::move(sequence)), condition_(std::move(condition)) {}

  template <class Self>
  void operator()(Self& self, std::error_code ec = {}) {
    switch (state_) {
      case state::starting:
        if (!next(ec)) {
          // Nothing to try: the handler must not run inside the initiating function.
          state_ = state::reporting;
          asio::post(socket_.get_executor(), std::move(self));
          return;
        }
        state_ = state::connecting;
        attempt(self);
        return;
      case state::reporting:
        self.complete(asio::error::not_found, Result::failed(sequence_));
        return;
      case state::connecting:
        if (!ec) {
          self.complete(ec, Result::at(sequence_, position()));
          return;
        }
        if (ec == asio::error::operation_aborted || self.get_cancellation_state().cancelled() != asio::cancellation_type::none) {
          self.complete(asio::error::operation_aborted, Result::failed(sequence_));
          return;
        }
        ++index_;
        if (!next(ec)) {
          self.complete(ec, Result::failed(sequence_));  // the last attempt's error
          return;
        }
        attempt(self);
        return;
    }
  }

 private:
  enum class state { starting, reporting, connecting };

  auto position() const { return std::next(sequence_.begin(), static_cast<std::ptrdiff_t>(index_)); }

  // Moves index_ to the next endpoint the condition accepts; false if there is none.
  bool next(const std::error_code& last) {
    for (auto it = position(); it != sequence_.end(); ++it, ++index_) {
      if (condition_(last, *it)) return true;
    }
    return false;
  }

  template <class Self>
  void attempt(Self& self) {
    std::error_code ignored;
    socket_.close(ignored);  // a connected (or failed) socket starts over, as with Asio
    socket_.async_connect(*position(), std::move(self));
  }

  tcp::socket& socket_;
  Sequence sequence_;
  ConnectCondition condition_;
  std::size_t index_ = 0;
  state state_ = state::starting;
};

struct endpoint_result {
  template <class Sequence, class It>
  static tcp::endpoint at(const Sequence&, It it) {
    return *it;
  }
  template <class Sequence>
  static tcp::endpoint failed(const Sequence&) {
    return {};
  }
};

struct iterator_result {
  template <class Iterator, class It>
  static Iterator at(const iterator_sequence<Iterator>&, It it) {
    return it;
  }
  template <class Iterator>
  static Iterator failed(const iterator_sequence<Iterator>& s) {
    return s.end();
  }
};

}  // namespace detail

/// Connects @p s to the first endpoint of @p endpoints that @p condition accepts and that
/// answers, as asio::async_connect does.
///
/// @param endpoints a sequence of tcp::endpoint (asio::ip::tcp::resolver::results_type, a
/// std::vector<tcp::endpoint>, ...); copied.
/// @param condition bool(const std::error_code& last_error, const tcp::endpoint& next), asked
/// before each attempt; false skips that endpoint.
/// Completion signature: void(std::error_code, tcp::endpoint): the endpoint connected to, or
/// the last attempt's error (asio::error::not_found if nothing was tried; operation_aborted
/// on cancellation, which also stops trying further endpoints) and a default endpoint.
/// @code
/// tunstack::tcp::endpoint peer = co_await async_connect(socket, endpoints, asio::use_awaitable);
/// @endcode
template <class EndpointSequence, connect_condition ConnectCondition,
          class RangeConnectToken = asio::default_completion_token_t<tcp::socket::executor_type>>
  requires endpoint_sequence<EndpointSequence>
auto async_connect(tcp::socket& s, const EndpointSequence& endpoints, ConnectCondition condition,
                   RangeConnectToken&& token = RangeConnectToken()) {
  return asio::async_compose<RangeConnectToken, void(std::error_code, tcp::endpoint)>(
      detail::connect_op<EndpointSequence, ConnectCondition, detail::endpoint_result>(s, endpoints, std::move(condition)),
      token, s);
}

/// The same, trying every endpoint.
template <class EndpointSequence,
          class RangeConnectToken = asio::default_completion_token_t<tcp::socket::executor_type>>
  requires endpoint_sequence<EndpointSequence>
auto async_connect(tcp::socket& s, const EndpointSequence& endpoints, RangeConnectToken&& token = RangeConnectToken()) {
  return async_connect(s, endpoints, default_connect_condition{}, std::forward<RangeConnectToken>(token));
}

/// Connects @p s to the first endpoint in [@p begin, @p end) that @p condition accepts and that
/// answers. Completion signature: void(std::error_code, Iterator): the endpoint's position, or
/// the last attempt's error (not_found if nothing was tried) and @p end.
template <class Iterator, connect_condition ConnectCondition,
          class IteratorConnectToken = asio::default_completion_token_t<tcp::socket::executor_type>>
  requires(!endpoint_sequence<Iterator>)
auto async_connect(tcp::socket& s, Iterator begin, Iterator end, ConnectCondition condition,
                   IteratorConnectToken&& token = IteratorConnectToken()) {
  using sequence = detail::iterator_sequence<Iterator>;
  return asio::async_compose<IteratorConnectToken, void(std::error_code, Iterator)>(
      detail::connect_op<sequence, ConnectCondition, detail::iterator_result>(s, sequence{begin, end}, std::move(condition)),
      token, s);
}

/// The same, trying every endpoint.
template <class Iterator, class IteratorConnectToken = asio::default_completion_token_t<tcp::socket::executor_type>>
  requires(!endpoint_sequence<Iterator>)
auto async_connect(tcp::socket& s, Iterator begin, Iterator end, IteratorConnectToken&& token = IteratorConnectToken()) {
  return async_connect(s, begin, end, default_connect_condition{}, std::forward<IteratorConnectToken>(token));
}

/// Blocking form of async_connect(socket, endpoints, condition), for threads other than the
/// stack's (there it fails with tunstack::errc::blocking_on_stack_thread). Returns the endpoint
/// connected to; on failure a default endpoint, with the last attempt's error (or not_found) in
/// @p ec.
template <class EndpointSequence, connect_condition ConnectCondition>
  requires endpoint_sequence<EndpointSequence>
tcp::endpoint connect(tcp::socket& s, const EndpointSequence& endpoints, ConnectCondition condition, std::error_code& ec) {
  ec = {};
  bool tried = false;
  for (const auto& e : endpoints) {
    if (!condition(ec, e)) continue;
    tried = true;
    std::error_code ignored;
    s.close(ignored);
    s.connect(e, ec);
    if (!ec) return e;
    if (ec == errc::blocking_on_stack_thread) break;
  }
  if (!tried) ec = asio::error::not_found;
  return {};
}

template <class EndpointSequence>
  requires endpoint_sequence<EndpointSequence>
tcp::endpoint connect(tcp::socket& s, const EndpointSequence& endpoints, std::error_code& ec) {
  return connect(s, endpoints, default_connect_condition{}, ec);
}

/// @throws std::system_error naming the operation, with the last attempt's error.
template <class EndpointSequence>
  requires endpoint_sequence<EndpointSequence>
tcp::endpoint connect(tcp::socket& s, const EndpointSequence& endpoints) {
  std::error_code ec;
  const tcp::endpoint e = connect(s, endpoints, ec);
  detail::throw_if(ec, "tunstack::connect");
  return e;
}

/// Blocking form of async_connect(socket, begin, end): the position connected to, or @p end.
template <class Iterator>
  requires(!endpoint_sequence<Iterator>)
Iterator connect(tcp::socket& s, Iterator begin, Iterator end, std::error_code& ec) {
  ec = asio::error::not_found;  // unless something is tried
  for (Iterator it = begin; it != end; ++it) {
    std::error_code ignored;
    s.close(ignored);
    s.connect(*it, ec);
    if (!ec) return it;
    if (ec == errc::blocking_on_stack_thread) break;
  }
  return end;
}

template <class Iterator>
  requires(!endpoint_sequence<Iterator>)
Iterator connect(tcp::socket& s, Iterator begin, Iterator end) {
  std::error_code ec;
  Iterator it = connect(s, begin, end, ec);
  detail::throw_if(ec, "tunstack::connect");
  return it;
}

}  // namespace tunstack

#endif  // TUNSTACK_CONNECT_HPP
