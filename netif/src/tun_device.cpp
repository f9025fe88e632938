// SPDX-License-Identifier: BSD-3-Clause
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
#include <endian.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

// How to put the TUN driver's node back, for a /dev/net/tun that is something else (rm -r
// only for a directory).
std::string remake_node(const char* rm = "rm -f") {
  return std::string("sudo ") + rm + " /dev/net/tun && sudo mknod /dev/net/tun c 10 200 && sudo chmod 0666 /dev/net/tun";
}

// What the open /dev/net/tun (@p fd) is, when TUNSETIFF says it is not the TUN driver's.
std::string describe_node(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "not the TUN driver's device";
  if (S_ISREG(st.st_mode)) return "a regular file";
  if (S_ISCHR(st.st_mode)) {
    return "the character device " + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)) +
           ", not the TUN driver's 10:200";
  }
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "not the TUN driver's device";
}

[[noreturn]] void throw_open_error(int e) {
  switch (e) {
    case EISDIR:
      throw device_error(reason::no_tun_driver, errno_code(e),
                         std::string("/dev/net/tun is a directory, not the TUN driver's device node; make it "
                                     "again: ") + remake_node("rm -r"));
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

[[noreturn]] void throw_setiff_error(int e, const std::string& name, int fd) {
  switch (e) {
    case ENOTTY:  // "Inappropriate ioctl for device": the node is not the TUN driver's
      throw device_error(reason::no_tun_driver, errno_code(e),
                         "/dev/net/tun is " + describe_node(fd) + " (TUNSETIFF: " + errno_code(e).message() +
                             "), so no TUN device can be made through it; make the node again: " + remake_node());
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

// The process holding TUN device @p name in this network namespace: "process 1234 (tunstack)",
// found through /proc/PID/fdinfo ("iff: NAME" on a /dev/net/tun descriptor). Empty when none
// is found, e.g. for lack of permission to look at other users' processes.
std::string tun_holder(const std::string& name) {
  namespace fs = std::filesystem;
  struct stat own_ns {};
  if (::stat("/proc/self/ns/net", &own_ns) != 0) return {};
  const std::string self = std::to_string(::getpid());
  std::error_code ec;
  for (const auto& process : fs::directory_iterator("/proc", ec)) {
    const std::string pid = process.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    struct stat ns {};
    if (::stat((process.path() / "ns/net").c_str(), &ns) != 0 || ns.st_ino != own_ns.st_ino || ns.st_dev != own_ns.st_dev) {
      continue;  // another namespace has devices of its own, maybe of the same name
    }
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator(process.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd.path(), link_ec) != "/dev/net/tun") continue;
      std::ifstream info(process.path() / "fdinfo" / fd.path().filename());
      for (std::string line; std::getline(info, line);) {
        if (line.rfind("iff:", 0) != 0) continue;
        const auto value = line.find_first_not_of(" \t", 4);
        if (value == std::string::npos || line.substr(value) != name) break;
        std::string comm;
        std::getline(std::ifstream(process.path() / "comm"), comm);
        return "process " + pid + (comm.empty() ? "" : " (" + comm + ")");
      }
    }
  }
  return {};
}

// Who uses interface @p index, if it is a TUN device a program holds (its addresses are then
// that program's: deleting one would cut it off): ", a TUN device that process 1234
// (tunstack) serves", or empty.
std::string served_by(detail::rtnetlink& nl, unsigned index) {
  std::error_code ec;
  const auto link = nl.link_by_index(index, ec);
  if (!link || link->kind != "tun") return {};
  const std::string holder = tun_holder(link->name);
  if (!holder.empty()) return ", a TUN device that " + holder + " serves";
  if (link->tun_queues && *link->tun_queues > 0) return ", a TUN device a running program serves";
  return {};
}

// The bytes of a scattered packet as one sequence, for the slow path that finishes a partial
// checksum in buffers a caller gave (usually one or two of them).
class scattered {
 public:
  scattered(std::span<const asio::mutable_buffer> buffers, std::size_t size) : buffers_(buffers), size_(size) {}
  std::uint8_t* at(std::size_t offset) const noexcept {
    for (const auto& b : buffers_) {
      if (offset < b.size()) return static_cast<std::uint8_t*>(b.data()) + offset;
      offset -= b.size();
    }
    return nullptr;
  }
  std::size_t size() const noexcept { return size_; }

 private:
  std::span<const asio::mutable_buffer> buffers_;
  std::size_t size_;
};

// What a device does with VIRTIO_NET_HDR_F_NEEDS_CSUM: the field at start + offset holds the
// pseudo-header sum; the Internet checksum of everything from start to the end goes there.
bool finish_checksum(const scattered& packet, std::size_t start, std::size_t offset) noexcept {
  if (start + offset + 2 > packet.size()) return false;
  std::uint32_t sum = 0;
  for (std::size_t i = start; i < packet.size(); ++i) {
    const std::uint32_t byte = *packet.at(i);
    sum += ((i - start) % 2 == 0) ? byte << 8 : byte;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const auto checksum = static_cast<std::uint16_t>(~sum);
  *packet.at(start + offset) = static_cast<std::uint8_t>(checksum >> 8);
  *packet.at(start + offset + 1) = static_cast<std::uint8_t>(checksum & 0xff);
  return true;
}

}  // namespace

namespace {

// struct virtio_net_hdr and its constants from <linux/virtio_net.h>, which C++ cannot include
// (a member there is named "class"). Little-endian fields, as TUN uses on little-endian hosts.
struct virtio_net_hdr {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;      // bytes of headers (IP + TCP) before the data
  std::uint16_t gso_size;     // data bytes per segment
  std::uint16_t csum_start;   // where the checksum starts
  std::uint16_t csum_offset;  // where it goes, from csum_start
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr std::uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr std::uint8_t VIRTIO_NET_HDR_F_DATA_VALID = 2;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_NONE = 0;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_TCPV6 = 4;
constexpr std::uint8_t VIRTIO_NET_HDR_GSO_ECN = 0x80;

}  // namespace

struct tun_device::virtio_header {
  virtio_net_hdr h{};
};

namespace {

// A persistent device keeps the virtio-net header size and byte order its last owner chose
// (QEMU, for one, uses 12-byte headers, and a big-endian guest's byte order): left as they are,
// the kernel would cut every read and write at another place than we do. So both are set each
// time the header is used: the 10-byte struct virtio_net_hdr, little-endian, as the fields are
// read and written here (on a little-endian host that is also the default; on a big-endian one
// it is not).
void set_vnet_header_format(int fd, const std::string& name) {
  auto refused = [&name](const char* request, const std::string& what) {
    const int e = errno;
    throw device_error(reason::other, errno_code(e),
                       "cannot use offloads on " + name + ": the kernel refused to " + what + " (" + request +
                           ": " + errno_code(e).message() + "). Run without them (tunstack --no-offload; "
                           "in the library, tun_options::offload = false)");
  };
  int size = sizeof(virtio_net_hdr);
  if (::ioctl(fd, TUNSETVNETHDRSZ, &size) != 0) {
    refused("TUNSETVNETHDRSZ", "set its virtio-net header size to " + std::to_string(size) + " bytes");
  }
  int little_endian = 1;
  if (::ioctl(fd, TUNSETVNETLE, &little_endian) != 0) {
    refused("TUNSETVNETLE", "make its virtio-net headers little-endian");
  }
}

// Without the header, the device must offload nothing: a persistent device keeps the offloads
// of its last owner (a tunstack run with them, for one), and the kernel would then hand over
// super-packets and unfinished checksums with no header to say so, which no TCP can take.
void clear_offloads(int fd, const std::string& name) {
  if (::ioctl(fd, TUNSETOFFLOAD, 0U) != 0) {
    const int e = errno;
    throw device_error(reason::other, errno_code(e),
                       "cannot turn the offloads of " + name + " off (TUNSETOFFLOAD: " + errno_code(e).message() +
                           "): a persistent device keeps those its last owner set, and TCP would not work. "
                           "Run with offloads, or delete and re-create the device (sudo ip link delete " + name + ")");
  }
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
  // With offloads every read and write carries a virtio_net_hdr first (IFF_VNET_HDR); the
  // kernel offloads nothing until TUNSETOFFLOAD below says what we can take.
  unsigned features = 0;
  const bool vnet = options.offload && ::ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR) != 0;
  const int base_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  ifr.ifr_flags = static_cast<short>(base_flags | IFF_TUN_EXCL);
  if (::ioctl(fd, TUNSETIFF, &ifr) == 0) {
    created_ = true;
  } else if (errno == EBUSY) {
    ifr.ifr_flags = static_cast<short>(base_flags);
    if (::ioctl(fd, TUNSETIFF, &ifr) != 0) throw_setiff_error(errno, options.name, fd);
    created_ = false;
  } else {
    throw_setiff_error(errno, options.name, fd);
  }
  name_ = ifr.ifr_name;  // the kernel fills in "%d" patterns
  descriptor_.assign(std::exchange(guard.fd, -1));
  vnet_header_ = vnet;
  if (vnet) set_vnet_header_format(descriptor_.native_handle(), name_);
  if (!options.offload) {
    offload_status_ = "off (turned off)";
    clear_offloads(descriptor_.native_handle(), name_);
  } else if (!vnet) {
    offload_status_ = "off (this kernel's TUN driver has no IFF_VNET_HDR)";
    clear_offloads(descriptor_.native_handle(), name_);
  } else {
    enable_offloads();
  }

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
      // An address of a TUN device some program (often another tunstack) serves is that
      // program's: the advice is then to stop it or choose another address, never to delete it.
      const std::string served = where.empty() ? std::string{} : served_by(nl, a.index);
      const std::string remove = served.empty()
          ? ", or remove it: sudo ip addr del " + a.address.to_string() + "/" + std::to_string(a.prefix_length) +
                " dev " + where
          : " (removing it from " + where + " would cut off the program serving it), or stop that program first";
      if (plan.stack && a.address == *plan.stack) {
        throw device_error(
            reason::address_in_use, std::make_error_code(std::errc::address_in_use),
            plan.stack->to_string() + " is already one of the kernel's own addresses (on " + where + served +
                "), so the kernel would answer it itself and nothing would reach " + name_ +
                ". Choose another address for the stack" + remove);
      }
      if (plan.kernel && a.address == *plan.kernel && a.index != index_) {
        throw device_error(
            reason::address_in_use, std::make_error_code(std::errc::address_in_use),
            "the kernel-side address " + plan.kernel->to_string() + " is already in use on " + where + served +
                ". Choose another kernel-side address" + remove);
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

void tun_device::enable_offloads() {
  // Checksums and TCP segmentation in both families; without TSO, checksums alone. UDP
  // segmentation stays off: lwIP cannot take a UDP super-datagram as one.
  struct attempt {
    unsigned flags;
    const char* what;
  };
  const attempt attempts[] = {{TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, "checksums, TCP segmentation (IPv4, IPv6)"},
                              {TUN_F_CSUM, "checksums only (the kernel refused TCP segmentation)"}};
  for (const auto& a : attempts) {
    if (::ioctl(descriptor_.native_handle(), TUNSETOFFLOAD, a.flags) == 0) {
      csum_ = true;
      tso_ = (a.flags & TUN_F_TSO4) != 0;
      offload_status_ = a.what;
      return;
    }
  }
  offload_status_ = std::string{"off (the kernel refused TUNSETOFFLOAD: "} + std::strerror(errno) + ")";
}

std::size_t tun_device::read_packet(std::span<const asio::mutable_buffer> buffers, virtio_header& header,
                                    std::error_code& ec) noexcept {
  std::array<iovec, 65> iov;
  std::size_t count = 0;
  if (vnet_header_) iov[count++] = {&header.h, sizeof header.h};
  std::size_t capacity = 0;
  for (std::size_t i = 0; i < buffers.size() && count < iov.size(); ++i) {
    iov[count++] = {buffers[i].data(), buffers[i].size()};
    capacity += buffers[i].size();
  }
  const ssize_t n = ::readv(descriptor_.native_handle(), iov.data(), static_cast<int>(count));
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? std::error_code{asio::error::would_block}
                                                   : errno_code(errno);
    return 0;
  }
  const std::size_t header_size = vnet_header_ ? sizeof header.h : 0;
  if (static_cast<std::size_t>(n) < header_size) {
    ec = asio::error::message_size;  // cannot happen: the driver always writes the header
    return 0;
  }
  const std::size_t size = static_cast<std::size_t>(n) - header_size;
  // The driver reports the packet's whole size even when it had to cut it to fit.
  ec = size > capacity ? std::error_code{asio::error::message_size} : std::error_code{};
  return size;
}

std::size_t tun_device::receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept {
  virtio_header header;
  const std::size_t n = read_packet(buffers, header, ec);
  if (ec || !vnet_header_) return n;
  if ((header.h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 &&
      !finish_checksum(scattered{buffers, n}, le16toh(header.h.csum_start), le16toh(header.h.csum_offset))) {
    ec = asio::error::message_size;  // a checksum outside the packet: the kernel never does that
    return 0;
  }
  return n;
}

std::size_t tun_device::receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                          std::error_code& ec) noexcept {
  for (;;) {
    virtio_header header;
    const std::size_t n = read_packet(buffers, header, ec);
    offload = {};
    if (ec || !vnet_header_) return n;
    const virtio_net_hdr& h = header.h;
    offload.checksum_trusted = (h.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) != 0;
    if (offload.checksum_trusted) ++rx_checksum_trusted_;
    switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
      case VIRTIO_NET_HDR_GSO_NONE:
        return n;
      case VIRTIO_NET_HDR_GSO_TCPV4:
      case VIRTIO_NET_HDR_GSO_TCPV6:
        offload.segment_size = le16toh(h.gso_size);
        ++rx_super_packets_;
        return n;
      default:  // UDP super-datagrams: never enabled, so never expected; dropped and counted
        ++rx_dropped_gso_;
        continue;
    }
  }
}

void tun_device::send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
  send_offloaded(buffers, packet_offload{}, ec);
}

void tun_device::send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                                std::error_code& ec) noexcept {
  std::array<iovec, 65> iov;
  if (buffers.size() + 1 > iov.size() || buffers.empty() || (offload.segment_size != 0 && !tso_) ||
      (offload.checksum_partial && !csum_)) {
    ec = asio::error::message_size;
    return;
  }
  std::size_t count = 0;
  virtio_header header;
  if (vnet_header_) {
    if (offload.segment_size != 0 || offload.checksum_partial) {
      // The stack puts the IP header in the first buffer; its version and length say where
      // TCP's checksum starts.
      const auto* ip = static_cast<const std::uint8_t*>(buffers[0].data());
      const bool v4 = buffers[0].size() >= 20 && (ip[0] >> 4) == 4;
      const std::size_t ip_header = v4 ? (ip[0] & 0x0fu) * 4u : 40u;
      virtio_net_hdr& h = header.h;
      h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      h.csum_start = htole16(static_cast<std::uint16_t>(ip_header));
      h.csum_offset = htole16(16);  // the checksum field's place in the TCP header
      if (offload.segment_size != 0) {
        h.gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
        h.hdr_len = htole16(offload.header_length);
        h.gso_size = htole16(offload.segment_size);
      }
    }
    iov[count++] = {&header.h, sizeof header.h};
  }
  for (const auto& b : buffers) iov[count++] = {const_cast<void*>(b.data()), b.size()};
  const ssize_t n = ::writev(descriptor_.native_handle(), iov.data(), static_cast<int>(count));
  if (n < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? std::error_code{asio::error::would_block}
                                                   : errno_code(errno);
    return;
  }
  if (offload.segment_size != 0) ++tx_super_packets_;
  ec = {};
}

std::vector<link_counter> tun_device::counters() const {
  if (!vnet_header_) return {};
  return {{"tun_rx_super_packets", rx_super_packets_},
          {"tun_rx_checksum_trusted", rx_checksum_trusted_},
          {"tun_tx_super_packets", tx_super_packets_},
          {"tun_rx_dropped_gso", rx_dropped_gso_}};
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
