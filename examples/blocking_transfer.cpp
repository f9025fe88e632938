// SPDX-License-Identifier: BSD-3-Clause
// blocking_transfer.cpp - the blocking facade: the io_context runs the stack on its own thread
// while main() uses connect, write_some and read_some like ordinary blocking sockets. The stack
// connects out to a listener on the kernel side and sends a file to it, or receives one.
//
//   nc -l -p 9000 > copy.bin &          ./blocking_transfer send 10.0.3.1 9000 original.bin
//   nc -l -p 9000 -N < original.bin &   ./blocking_transfer receive 10.0.3.1 9000 copy.bin
#include "network.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using tunstack::tcp;

int main(int argc, char** argv) {
  if (argc != 5 || (std::string(argv[1]) != "send" && std::string(argv[1]) != "receive")) {
    std::cerr << "usage: blocking_transfer send|receive ADDRESS PORT FILE\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    asio::io_context io;
    example::network net{io};
    tcp::socket socket{net.stack};  // made before the io_context runs on its thread
    auto work = asio::make_work_guard(io);
    std::thread stack_thread([&io] { io.run(); });

    const tcp::endpoint peer{asio::ip::make_address(argv[2]), static_cast<unsigned short>(std::stoi(argv[3]))};
    socket.connect(peer);
    std::vector<char> buffer(64 * 1024);
    std::size_t total = 0;
    if (mode == "send") {
      std::ifstream in(argv[4], std::ios::binary);
      if (!in) throw std::runtime_error(std::string("cannot read ") + argv[4]);
      while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
        const auto n = static_cast<std::size_t>(in.gcount());
        for (std::size_t done = 0; done < n;) done += socket.write_some(asio::buffer(buffer.data() + done, n - done));
        total += n;
      }
      socket.shutdown(asio::socket_base::shutdown_send);
      // Wait for the peer to close its side too, so everything was delivered.
      std::error_code ec;
      while (!ec) socket.read_some(asio::buffer(buffer), ec);
    } else {
      std::ofstream out(argv[4], std::ios::binary);
      if (!out) throw std::runtime_error(std::string("cannot write ") + argv[4]);
      for (;;) {
        std::error_code ec;
        const std::size_t n = socket.read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::eof) break;
        if (ec) throw std::system_error(ec, "read_some");
        out.write(buffer.data(), static_cast<std::streamsize>(n));
        total += n;
      }
    }
    std::cerr << "blocking_transfer: " << mode << " " << total << " bytes\n";
    socket.close();
    work.reset();
    io.stop();
    stack_thread.join();
  } catch (const std::exception& e) {
    std::cerr << "blocking_transfer: " << e.what() << '\n';
    return 1;
  }
}
