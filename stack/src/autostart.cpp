// SPDX-License-Identifier: BSD-3-Clause
// autostart.cpp - tunstack::autostart: link this object into a program and the first tunstack
// socket made from an executor alone (as Asio code does: `tcp::acceptor a(executor, endpoint)`)
// gets a stack on a TUN device configured from environment variables. It lets an existing Asio
// program run on tunstack with only its `using asio::ip::tcp;` line changed.
//
//   TUNSTACK_DEV=tun0  TUNSTACK_MTU=1500
//   TUNSTACK_ADDR=10.0.3.50/24      TUNSTACK_HOST_ADDR=10.0.3.1/24 (or none)
//   TUNSTACK_ADDR6=fd00:3::50/64    TUNSTACK_HOST_ADDR6=fd00:3::1/64 (or none; none for both)
//
// The device and the stack live in a service of the io_context, so they are destroyed with it,
// before the services they use. What goes wrong (no TUN device, a bad variable) is thrown from
// the socket's constructor; stack::for_executor prints it if nothing catches it.
#include "tunstack/netif/tun_device.hpp"
#include "tunstack/stack.hpp"

#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

class autostart_service final : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;
  explicit autostart_service(asio::execution_context& context) : service(context) {}

  void shutdown() override {
    stack.reset();  // before the device: the stack refers to it
    device.reset();
  }

  std::unique_ptr<tunstack::tun_device> device;
  std::unique_ptr<tunstack::stack> stack;
};

asio::execution_context::id autostart_service::id;

std::string setting(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

template <class Network, class Parse>
std::optional<Network> network_setting(const char* name, const char* fallback, bool allow_none, Parse parse) {
  const std::string text = setting(name, fallback);
  if (allow_none && text == "none") return std::nullopt;
  std::error_code ec;
  Network n = parse(text, ec);
  if (ec || text.find('/') == std::string::npos) {
    throw std::invalid_argument(std::string("tunstack autostart: ") + name + "='" + text +
                                "' is not an address with a prefix length, like " + fallback +
                                (allow_none ? " (or none)" : ""));
  }
  return n;
}

tunstack::stack& make_stack(asio::io_context& io) {
  // The timer and descriptor services must exist before ours, so that they are shut down after
  // it (the io_context shuts services down in reverse order of creation).
  {
    asio::steady_timer timer{io};
    asio::posix::stream_descriptor descriptor{io};
  }
  auto& service = asio::use_service<autostart_service>(io);
  if (service.stack) return *service.stack;

  const std::string dev = setting("TUNSTACK_DEV", "tun0");
  const std::string mtu_text = setting("TUNSTACK_MTU", "1500");
  char* end = nullptr;
  const unsigned long mtu = std::strtoul(mtu_text.c_str(), &end, 10);
  if (end == mtu_text.c_str() || *end != '\0' || mtu < 68 || mtu > 65535) {
    throw std::invalid_argument("tunstack autostart: TUNSTACK_MTU='" + mtu_text + "' is not an MTU (68..65535)");
  }
  const auto v4 = [](const std::string& t, std::error_code& ec) { return asio::ip::make_network_v4(t, ec); };
  const auto v6 = [](const std::string& t, std::error_code& ec) { return asio::ip::make_network_v6(t, ec); };
  const auto addr = *network_setting<asio::ip::network_v4>("TUNSTACK_ADDR", "10.0.3.50/24", false, v4);
  const auto host = network_setting<asio::ip::network_v4>("TUNSTACK_HOST_ADDR", "10.0.3.1/24", true, v4);
  const auto addr6 = network_setting<asio::ip::network_v6>("TUNSTACK_ADDR6", "fd00:3::50/64", true, v6);
  auto host6 = network_setting<asio::ip::network_v6>("TUNSTACK_HOST_ADDR6", "fd00:3::1/64", true, v6);
  if (!addr6) host6.reset();

  service.device = std::make_unique<tunstack::tun_device>(io, tunstack::netif::tun_options{.name = dev, .mtu = mtu});
  tunstack::netif::kernel_side_config kernel{.ipv4 = host, .ipv6 = host6, .up = true};
  if (host) kernel.stack_ipv4 = addr.address();
  if (host6) kernel.stack_ipv6 = addr6->address();
  if (host || host6) service.device->configure_kernel_side(kernel);

  service.stack = std::make_unique<tunstack::stack>(
      io, tunstack::stack_options{.log = [](tunstack::log_level level, std::string_view line) {
                                    std::fprintf(stderr, "tunstack: %s: %.*s\n", tunstack::to_string(level).data(),
                                                 static_cast<int>(line.size()), line.data());
                                  },
                                  .log_max = tunstack::log_level::warning});
  tunstack::interface_config config{.ipv4 = addr};
  if (addr6) config.ipv6.push_back(*addr6);
  service.stack->add_interface(*service.device, config);
  std::fprintf(stderr, "tunstack autostart: answering %s%s%s on %s\n", addr.to_string().c_str(),
               addr6 ? " and " : "", addr6 ? addr6->to_string().c_str() : "", service.device->name().c_str());
  return *service.stack;
}

}  // namespace

// Linking tunstack::autostart (or pkg-config's tunstack-autostart) asks the linker for this
// symbol by name (--undefined), which brings this file out of the static library, and with it
// the initialiser that registers the provider: nothing in a program refers to it otherwise.
extern "C" {
extern const bool tunstack_autostart_registered;
const bool tunstack_autostart_registered = [] {
  tunstack::stack::set_provider(&make_stack);
  return true;
}();
}
