// SPDX-License-Identifier: BSD-3-Clause
// tls_echo_server.cpp - a TLS echo server on tunstack (tls_echo.hpp), on IPv4 and IPv6: every
// connection is an asio::ssl::stream<tunstack::tcp::socket>. Give it a certificate and its key
// (PEM); a throwaway one for trying it (each command on one line):
//
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1
//       -subj /CN=tunstack.test -addext subjectAltName=DNS:tunstack.test -keyout key.pem -out cert.pem
//   sudo ip netns exec NS ./tls_echo_server cert.pem key.pem 4433
//   echo hello | sudo ip netns exec NS openssl s_client -brief -connect 10.0.3.50:4433
//       -CAfile cert.pem -verify_hostname tunstack.test -verify_return_error
#include "network.hpp"
#include "tls_echo.hpp"

#include <asio/signal_set.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: tls_echo_server CERTIFICATE.pem KEY.pem [PORT]\n";
    return 2;
  }
  const int port = argc > 3 ? std::atoi(argv[3]) : 4433;
  if (port < 1 || port > 65535) {
    std::cerr << "tls_echo_server: PORT must be 1..65535, not '" << argv[3] << "'\n";
    return 2;
  }
  try {
    asio::ssl::context tls = tls_echo::server_context(read_file(argv[1]), read_file(argv[2]));
    asio::io_context io;
    example::network net{io};
    tunstack::tcp::acceptor acceptor{net.stack, {tunstack::tcp::v6(), static_cast<unsigned short>(port)}};
    asio::co_spawn(io, tls_echo::listen(acceptor, tls, [](const std::string& what) { std::cerr << "tls_echo_server: " << what << '\n'; }),
                   asio::detached);
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    std::cerr << "example: TLS echo on port " << port << " (IPv4 and IPv6)\n";
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "tls_echo_server: " << e.what() << '\n';
    return 1;
  }
}
