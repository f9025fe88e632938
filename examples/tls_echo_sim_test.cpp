// SPDX-License-Identifier: BSD-3-Clause
// tls_echo_sim_test.cpp - TLS over tunstack without the kernel: tls_echo.hpp's server and a TLS
// client, both asio::ssl::stream<tunstack::tcp::socket>, on the two ends of tunstack::sim's wire
// (with loss, so TCP retransmits under the TLS records). The certificate is made here, at test
// time, with OpenSSL's API: a throwaway key and a self-signed certificate for "tunstack.test",
// which the client trusts and checks the host name against.
#include "tls_echo.hpp"

#include "tunstack/sim/network.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// A key and a self-signed certificate, as PEM text.
struct throwaway_certificate {
  std::string certificate_pem, key_pem;
};

template <class T, void (*Free)(T*)>
using owned = std::unique_ptr<T, std::integral_constant<decltype(Free), Free>>;

std::string pem_of(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

throwaway_certificate make_certificate(const char* host) {
  const owned<EVP_PKEY, EVP_PKEY_free> key{EVP_EC_gen("P-256")};
  const owned<X509, X509_free> certificate{X509_new()};
  if (!key || !certificate) throw std::runtime_error("OpenSSL: cannot make a key or certificate");
  X509_set_version(certificate.get(), 2);  // v3, for the extension
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), name);  // self-signed
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate.get(), certificate.get(), nullptr, nullptr, 0);
  const std::string alt_name = std::string("DNS:") + host;
  const owned<X509_EXTENSION, X509_EXTENSION_free> extension{
      X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, alt_name.c_str())};
  if (!extension || X509_add_ext(certificate.get(), extension.get(), -1) != 1 ||
      X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("OpenSSL: cannot sign the certificate");
  }
  const owned<BIO, BIO_free_all> certificate_bio{BIO_new(BIO_s_mem())};
  const owned<BIO, BIO_free_all> key_bio{BIO_new(BIO_s_mem())};
  PEM_write_bio_X509(certificate_bio.get(), certificate.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {pem_of(certificate_bio.get()), pem_of(key_bio.get())};
}

struct client_result {
  bool done = false;
  std::error_code handshake, transfer, shutdown;
  std::vector<std::string> echoed;
  std::string protocol;
};

// A TLS client on the simulation's client side: verifies the server against @p trusted (PEM)
// and the host name, sends each message and reads it back, then ends the session.
asio::awaitable<void> client(tunstack::sim::network& net, asio::ssl::context& tls, std::vector<std::string> messages,
                             client_result& result) {
  tls_echo::stream stream{tunstack::tcp::socket{net.stack()}, tls};
  stream.lowest_layer().bind({net.client_address(), 0});
  std::error_code ec;
  co_await stream.lowest_layer().async_connect({net.server_address(), 4433}, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    SSL_set_tlsext_host_name(stream.native_handle(), "tunstack.test");  // SNI
    stream.set_verify_mode(asio::ssl::verify_peer);
    stream.set_verify_callback(asio::ssl::host_name_verification("tunstack.test"));
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  }
  result.handshake = ec;
  if (!ec) {
    result.protocol = SSL_get_version(stream.native_handle());
    for (const auto& m : messages) {
      co_await asio::async_write(stream, asio::buffer(m), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      std::string back(m.size(), '\0');
      co_await asio::async_read(stream, asio::buffer(back), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      result.echoed.push_back(back);
    }
    result.transfer = ec;
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));  // close_notify both ways
    result.shutdown = ec;
  }
  result.done = true;
}

asio::ssl::context client_context(const std::string& trusted_pem) {
  asio::ssl::context tls{asio::ssl::context::tls_client};
  if (!trusted_pem.empty()) tls.add_certificate_authority(asio::buffer(trusted_pem));
  return tls;
}

}  // namespace

TEST_CASE("tls echo: a TLS client and server on tunstack, through 5% loss, with the certificate checked") {
  const throwaway_certificate certificate = make_certificate("tunstack.test");
  asio::ssl::context server_tls = tls_echo::server_context(certificate.certificate_pem, certificate.key_pem);
  asio::ssl::context client_tls = client_context(certificate.certificate_pem);

  const tunstack::netif::impairment lossy{.loss = 5, .delay = 2ms};
  tunstack::sim::network net{{.seed = 13, .client_to_server = lossy, .server_to_client = lossy}};
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), 4433}};
  std::vector<std::string> server_reports;
  asio::co_spawn(net.io(), tls_echo::listen(acceptor, server_tls, [&](const std::string& r) { server_reports.push_back(r); }),
                 asio::detached);

  std::string big(256 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i * 7 % 26);
  const std::vector<std::string> messages{"hello over TLS\n", big, "bye\n"};
  client_result result;
  asio::co_spawn(net.io(), client(net, client_tls, messages, result), asio::detached);
  REQUIRE(net.run_until([&] { return result.done; }, 10min));

  CHECK_FALSE(result.handshake);
  CHECK(result.protocol == "TLSv1.3");
  CHECK_FALSE(result.transfer);
  CHECK(result.echoed == messages);
  CHECK_FALSE(result.shutdown);  // the server answered close_notify with its own
  std::uint64_t lost = 0;
  for (const auto& c : net.wire_counters()) {
    if (c.name.ends_with("_lost")) lost += c.value;
  }
  CHECK(lost > 0);  // TCP under the records really retransmitted
  net.run_for(1s);
  CHECK(server_reports.empty());
}

TEST_CASE("tls echo: a client that does not trust the certificate fails the handshake, and so does the server") {
  const throwaway_certificate certificate = make_certificate("tunstack.test");
  const throwaway_certificate other = make_certificate("tunstack.test");  // same name, another key
  asio::ssl::context server_tls = tls_echo::server_context(certificate.certificate_pem, certificate.key_pem);
  asio::ssl::context client_tls = client_context(other.certificate_pem);

  tunstack::sim::network net{{.seed = 14}};
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), 4433}};
  std::vector<std::string> server_reports;
  asio::co_spawn(net.io(), tls_echo::listen(acceptor, server_tls, [&](const std::string& r) { server_reports.push_back(r); }),
                 asio::detached);
  client_result result;
  asio::co_spawn(net.io(), client(net, client_tls, {"never sent\n"}, result), asio::detached);
  REQUIRE(net.run_until([&] { return result.done; }, 1min));
  REQUIRE(result.handshake);
  CHECK(result.handshake.category() == asio::error::get_ssl_category());
  CHECK(result.echoed.empty());
  REQUIRE(net.run_until([&] { return !server_reports.empty(); }, 1min));
  CHECK(server_reports.front().starts_with("handshake: "));
}
