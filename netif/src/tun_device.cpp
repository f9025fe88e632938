// tun_device.cpp - opening, configuring and pumping a Linux TUN device (see tun_device.hpp).
// The kernel's TUN driver hands us one IP packet per read() and takes one per write(); the fd
// is non-blocking and Asio tells us when it is readable. Failures become device_error values
// whose messages say what to do, since these are the errors every TUN user meets first.
#include "tunstack/netif/tun_device.hpp"

#include "rtnetlink.hpp"

#include <asio/error.hpp>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>
#include <string_view>
#include <utility>

namespace tunstack::netif {
namespace {

using reason = device_error::reason;

std::error_code errno_code(int e) { return {e, std::generic_category()}; }

// The path of this program, for `setcap` advice.
std::string self_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"/path/to/program"} : p.string();
}

std::string setcap_advice() {
  return "run it as root (sudo), or grant the capability once: sudo setcap cap_net_admin+ep " +
         self_path();
}

bool valid_interface_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

[[noreturn]] void throw_open_error(int e) {
  switch (e) {
    case ENOENT:
      throw device_error(reason::no_tun_driver, errno_code(e),
                         "/dev/net/tun does not exist: load the TUN driver (sudo modprobe tun) or "
                         "create the device node (sudo mkdir -p /dev/net && sudo mknod "
                         "/dev/net/tun c 10 200 && sudo chmod 0666 /dev/net/tun)");
    case ENODEV:
    case ENXIO:
      throw device_error(reason::no_tun_driver, errno_code(e),
                         "/dev/net/tun has no driver behind it: load the TUN driver (sudo modprobe "
                         "tun); in a container, the host has to load it and pass /dev/net/tun in");
    case EACCES:
    case EPERM:
      throw device_error(reason::permission, errno_code(e),
                         "cannot open /dev/net/tun: " + errno_code(e).message() +
                             ". Opening it needs read/write access to the node and creating a "
                             "device needs CAP_NET_ADMIN: " + setcap_advice());
    default:
      throw device_error(reason::other, errno_code(e),
                         "cannot open /dev/net/tun: " + errno_code(e).message());
  }
}

std::string describe_existing(const std::string& name) {
  try {
    detail::rtnetlink nl;
    std::error_code ec;
    auto link = nl.link_by_name(name, ec);
    if (ec || !link) return "a device of another kind";
    if (link->kind == "tun") {
      if (link->tun_type == IFF_TAP) return "a TAP (Ethernet) device, not a TUN device";
      if (link->tun_multi_queue) return "a multi-queue TUN device";
      return "a TUN device created with other flags";
    }
    if (link->kind.empty()) return "a network interface that is not a TUN device";
    return "a '" + link->kind + "' interface, not a TUN device";
  } catch (const std::exception&) {
    return "a device of another kind";
  }
}

[[noreturn]] void throw_setiff_error(int e, const std::string& name) {
  switch (e) {
    case EPERM:
    case EACCES:
      throw device_error(reason::permission, errno_code(e),
                         "creating or attaching TUN device " + name +
                             " needs CAP_NET_ADMIN: " + setcap_advice() +
                             ". (A persistent device made for your user with `sudo ip tuntap add "
                             "dev " + name + " mode tun user $USER` can be attached without it.)");
    case EBUSY:
      throw device_error(reason::busy, errno_code(e),
                         "TUN device " + name +
                             " is in use by another process (a single-queue TUN device has one "
                             "reader). Stop that process, or choose another device name");
    case EINVAL:
      throw device_error(reason::wrong_kind, errno_code(e),
                         name + " already exists and is " + describe_existing(name) +
                             ". Choose another device name, or delete it: sudo ip link delete " +
                             name);
    default:
      throw device_error(reason::other, errno_code(e),
                         "cannot create TUN device " + name + ": " + errno_code(e).message());
  }
}

[[noreturn]] void throw_config_error(std::error_code ec, const std::string& what,
                                     const std::string& name) {
  if (ec == std::errc::operation_not_permitted || ec == std::errc::permission_denied) {
    throw device_error(reason::permission, ec,
                       "cannot " + what + " of " + name + ": " + ec.message() +
                           ". Configuring the kernel side needs CAP_NET_ADMIN: " + setcap_advice());
  }
  if (ec == std::errc::no_such_device) {
    throw device_error(reason::device_gone, ec,
                       "cannot " + what + " of " + name + ": the device disappeared");
  }
  throw device_error(reason::other, ec, "cannot " + what + " of " + name + ": " + ec.message());
}

std::string interface_name(detail::rtnetlink& nl, unsigned index) {
  std::error_code ec;
  auto link = nl.link_by_index(index, ec);
  return link ? link->name : "interface #" + std::to_string(index);
}

}  // namespace

tun_device::tun_device(asio::io_context& io, const tun_options& options)
    : descriptor_(io), name_(options.name), mtu_(options.mtu) {
  if (!valid_interface_name(options.name)) {
    throw device_error(reason::bad_name, std::make_error_code(std::errc::invalid_argument),
                       "'" + options.name +
                           "' is not a valid interface name: use 1 to 15 characters without "
                           "'/', ':' or spaces (e.g. tun0, or tun%d to let the kernel pick)");
  }
  if (options.mtu < 68 || options.mtu > 65535) {
    throw device_error(reason::other, std::make_error_code(std::errc::invalid_argument),
                       "MTU " + std::to_string(options.mtu) + " is out of range 68..65535");
  }

  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw_open_error(errno);
  // Closes fd if we throw before the descriptor owns it. The descriptor may only take it after
  // TUNSETIFF: registering with epoll earlier makes the driver's poll answer EPOLLERR without
  // joining the socket's wait queue, and epoll would then never be woken by arriving packets.
  struct fd_guard {
    int fd;
    ~fd_guard() {
      if (fd >= 0) ::close(fd);
    }
  } guard{fd};

  // First try to create the device exclusively: EBUSY then means "it exists", and we attach to
  // it instead. This tells, without a race, whether the device is ours to disappear with.
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, options.name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL);
  if (::ioctl(fd, TUNSETIFF, &ifr) == 0) {
    created_ = true;
  } else if (errno == EBUSY) {
    ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) throw_setiff_error(errno, options.name);
    created_ = false;
  } else {
    throw_setiff_error(errno, options.name);
  }
  name_ = ifr.ifr_name;  // the kernel fills in "%d" patterns
  descriptor_.assign(std::exchange(guard.fd, -1));

  detail::rtnetlink nl;
  std::error_code ec;
  auto link = nl.link_by_name(name_, ec);
  if (ec || !link) throw_config_error(ec ? ec : std::make_error_code(std::errc::no_such_device),
                                      "look up the interface index", name_);
  index_ = link->index;
  if (link->mtu != options.mtu) {
    nl.set_mtu(index_, static_cast<unsigned>(options.mtu), ec);
    if (ec) throw_config_error(ec, "set the MTU to " + std::to_string(options.mtu), name_);
  }
  // Only on a device of our own: a persistent device keeps what its owner configured.
  if (created_ && options.txqueuelen != 0) {
    nl.set_txqueuelen(index_, static_cast<unsigned>(std::min<std::size_t>(options.txqueuelen, UINT_MAX)), ec);
    if (ec) throw_config_error(ec, "set the transmit queue length to " + std::to_string(options.txqueuelen), name_);
  }
}

tun_device::~tun_device() = default;  // closing the fd removes a device we created

namespace {

// One address family's part of the kernel-side configuration.
struct family_plan {
  std::optional<asio::ip::address> kernel;  // the kernel's own address on the link
  unsigned prefix_length = 0;
  std::string kernel_text;                   // as given, e.g. 10.0.3.1/24
  std::optional<asio::ip::address> stack;    // the address the stack answers
};

std::string ipv6_disabled_reason(const std::string& device) {
  std::ifstream f("/proc/sys/net/ipv6/conf/" + device + "/disable_ipv6");
  int disabled = 0;
  if (!(f >> disabled)) return "the kernel has no IPv6 for " + device + " (no /proc/sys/net/ipv6/conf/" + device + ")";
  if (disabled != 0) {
    return "IPv6 is disabled on " + device + " (sysctl net.ipv6.conf." + device +
           ".disable_ipv6=1, or net.ipv6.conf.default.disable_ipv6 when it was created)";
  }
  return {};
}

}  // namespace

void tun_device::configure_kernel_side(const kernel_side_config& config) {
  detail::rtnetlink nl;
  std::error_code ec;
  const auto addresses = nl.addresses(ec);
  if (ec) throw_config_error(ec, "list the kernel's addresses", name_);

  std::vector<family_plan> plans;
  if (config.ipv4 || config.stack_ipv4) {
    family_plan p;
    if (config.ipv4) {
      p.kernel = config.ipv4->address();
      p.prefix_length = config.ipv4->prefix_length();
      p.kernel_text = config.ipv4->to_string();
    }
    if (config.stack_ipv4) p.stack = *config.stack_ipv4;
    plans.push_back(p);
  }
  if (config.ipv6 || config.stack_ipv6) {
    if (mtu_ < 1280) {
      throw device_error(reason::other, std::make_error_code(std::errc::invalid_argument),
                         "IPv6 needs an MTU of at least 1280 bytes, and " + name_ + "'s is " +
                             std::to_string(mtu_) + ": raise the MTU or leave IPv6 out");
    }
    if (config.ipv6) {
      if (const std::string why = ipv6_disabled_reason(name_); !why.empty()) {
        throw device_error(reason::other, std::make_error_code(std::errc::address_family_not_supported),
                           "cannot give " + name_ + " the IPv6 address " + config.ipv6->to_string() +
                               ": " + why + ". Enable IPv6 (sudo sysctl -w net.ipv6.conf." + name_ +
                               ".disable_ipv6=0) or leave the kernel side's IPv6 address out");
      }
    }
    family_plan p;
    if (config.ipv6) {
      p.kernel = config.ipv6->address();
      p.prefix_length = config.ipv6->prefix_length();
      p.kernel_text = config.ipv6->to_string();
    }
    if (config.stack_ipv6) p.stack = *config.stack_ipv6;
    plans.push_back(p);
  }

  for (const auto& plan : plans) {
    for (const auto& a : addresses) {
      const std::string where = a.address == plan.stack || (a.address == plan.kernel && a.index != index_)
                                    ? interface_name(nl, a.index) : std::string{};
      if (plan.stack && a.address == *plan.stack) {
        throw device_error(
            reason::address_in_use, std::make_error_code(std::errc::address_in_use),
            plan.stack->to_string() + " is already one of the kernel's own addresses (on " + where +
                "), so the kernel would answer it itself and nothing would reach " + name_ +
                ". Choose another address for the stack, or remove it: sudo ip addr del " +
                a.address.to_string() + "/" + std::to_string(a.prefix_length) + " dev " + where);
      }
      if (plan.kernel && a.address == *plan.kernel && a.index != index_) {
        throw device_error(
            reason::address_in_use, std::make_error_code(std::errc::address_in_use),
            "the kernel-side address " + plan.kernel->to_string() + " is already in use on " + where +
                ". Choose another kernel-side address, or remove it: sudo ip addr del " +
                plan.kernel->to_string() + "/" + std::to_string(a.prefix_length) + " dev " + where);
      }
    }
    if (plan.kernel) {
      nl.add_address(index_, *plan.kernel, plan.prefix_length, ec);
      if (ec) throw_config_error(ec, "add address " + plan.kernel_text + " to the kernel side", name_);
    }
  }
  if (config.up) {
    nl.set_up(index_, ec);
    if (ec) throw_config_error(ec, "bring up the link", name_);
  }
  if (!config.up) return;
  for (const auto& plan : plans) {
    if (!plan.stack || !plan.kernel) continue;
    auto route = nl.route_to(*plan.stack, ec);
    if (ec) throw_config_error(ec, "look up the route to " + plan.stack->to_string(), name_);
    if (!route || route->output_index != index_) {
      const std::string where =
          route ? interface_name(nl, route->output_index) : std::string{"nowhere (no route)"};
      throw device_error(
          reason::route_conflict, std::make_error_code(std::errc::address_in_use),
          "the kernel routes " + plan.stack->to_string() + " via " + where + ", not " + name_ +
              ": another interface has an overlapping subnet. Choose addresses in a subnet no "
              "other interface uses (see: ip route get " + plan.stack->to_string() + ")");
    }
  }
}

std::size_t tun_device::receive(std::span<const asio::mutable_buffer> buffers,
                                std::error_code& ec) noexcept {
  std::array<iovec, 64> iov;
  const std::size_t count = std::min(buffers.size(), iov.size());
  for (std::size_t i = 0; i < count; ++i) iov[i] = {buffers[i].data(), buffers[i].size()};
  const ssize_t n = ::readv(descriptor_.native_handle(), iov.data(), static_cast<int>(count));
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? std::error_code{asio::error::would_block}
                                                   : errno_code(errno);
    return 0;
  }
  ec = {};
  return static_cast<std::size_t>(n);
}

void tun_device::send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
  std::array<iovec, 64> iov;
  if (buffers.size() > iov.size()) {
    ec = asio::error::message_size;
    return;
  }
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    iov[i] = {const_cast<void*>(buffers[i].data()), buffers[i].size()};
  }
  const ssize_t n = ::writev(descriptor_.native_handle(), iov.data(), static_cast<int>(buffers.size()));
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? std::error_code{asio::error::would_block}
                                                   : errno_code(errno);
    return;
  }
  ec = {};
}

void tun_device::async_wait_readable(std::function<void(std::error_code)> handler) {
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                         [h = std::move(handler)](std::error_code ec) { h(ec); });
}

void tun_device::cancel() noexcept {
  std::error_code ignored;
  descriptor_.cancel(ignored);
}

}  // namespace tunstack::netif
