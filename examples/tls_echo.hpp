// SPDX-License-Identifier: BSD-3-Clause
// tls_echo.hpp - TLS on tunstack: an echo server whose connections are
// asio::ssl::stream<tunstack::tcp::socket>, Asio's own TLS stream (OpenSSL underneath) over the
// userspace stack's TCP. Shared by the tls_echo_server program (on a TUN device, for
// `openssl s_client`) and tls_echo_sim_test.cpp (client and server both on tunstack::sim).
#ifndef TUNSTACK_EXAMPLES_TLS_ECHO_HPP
#define TUNSTACK_EXAMPLES_TLS_ECHO_HPP

#include "tunstack/tcp.hpp"

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <functional>
#include <string>
#include <system_error>

namespace tls_echo {

/// TLS over a tunstack socket: the socket is the stream's lowest layer.
using stream = asio::ssl::stream<tunstack::tcp::socket>;

/// A server context holding the certificate chain and private key (PEM text).
inline asio::ssl::context server_context(const std::string& certificate_pem, const std::string& key_pem) {
  asio::ssl::context tls{asio::ssl::context::tls_server};
  tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  tls.use_certificate_chain(asio::buffer(certificate_pem));
  tls.use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
  return tls;
}

/// One connection: the handshake, then every byte back until the client ends the session; then
/// our close_notify. @p report hears how a session ended that did not end cleanly.
inline asio::awaitable<void> session(stream tls, std::function<void(const std::string&)> report) {
  std::error_code ec;
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    if (report) report("handshake: " + ec.message());
    co_return;
  }
  char data[4096];
  for (;;) {
    const std::size_t n = co_await tls.async_read_some(asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(tls, asio::buffer(data, n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  // eof: the client sent close_notify, and gets ours. stream_truncated: it closed TCP without
  // one, which many clients do; nothing to answer.
  if (ec == asio::error::eof) {
    co_await tls.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  } else if (ec != asio::ssl::error::stream_truncated && report) {
    report("session: " + ec.message());
  }
}

/// Accepts connections on @p acceptor and runs a session for each; @p tls must outlive them.
inline asio::awaitable<void> listen(tunstack::tcp::acceptor& acceptor, asio::ssl::context& tls,
                                    std::function<void(const std::string&)> report = {}) {
  for (;;) {
    std::error_code ec;
    tunstack::tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the acceptor was closed
    const auto executor = socket.get_executor();
    asio::co_spawn(executor, session(stream{std::move(socket), tls}, report), asio::detached);
  }
}

}  // namespace tls_echo

#endif  // TUNSTACK_EXAMPLES_TLS_ECHO_HPP
