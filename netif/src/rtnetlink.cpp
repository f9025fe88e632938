// SPDX-License-Identifier: BSD-3-Clause
// rtnetlink.cpp - the rtnetlink requests tunstack makes, on libmnl (see rtnetlink.hpp).
// Each request is sent with NLM_F_ACK and its answer (or error) read before returning.
#include "rtnetlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace tunstack::netif::detail {
namespace {

// The upper bound of libmnl's MNL_SOCKET_BUFFER_SIZE (min(page size, 8 KiB)): the kernel sizes
// dump messages to the reader's buffer, so every answer we ask for fits.
using message_buffer = std::array<char, 8192>;

void put_address(nlmsghdr* nlh, std::uint16_t type, const asio::ip::address& a) {
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    mnl_attr_put(nlh, type, bytes.size(), bytes.data());
  } else {
    const auto bytes = a.to_v6().to_bytes();
    mnl_attr_put(nlh, type, bytes.size(), bytes.data());
  }
}

std::optional<asio::ip::address> read_address(const nlattr* attr, int family) {
  const auto length = mnl_attr_get_payload_len(attr);
  const auto* payload = static_cast<const unsigned char*>(mnl_attr_get_payload(attr));
  if (family == AF_INET && length == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), payload, b.size());
    return asio::ip::address_v4{b};
  }
  if (family == AF_INET6 && length == 16) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), payload, b.size());
    return asio::ip::address_v6{b};
  }
  return std::nullopt;
}

struct attribute_table {
  static constexpr int size = 64;
  std::array<const nlattr*, size> at{};
};

int collect_attribute(const nlattr* attr, void* data) {
  auto* table = static_cast<attribute_table*>(data);
  const int type = mnl_attr_get_type(attr);
  if (type >= 0 && type < attribute_table::size) table->at[static_cast<std::size_t>(type)] = attr;
  return MNL_CB_OK;
}

kernel_link parse_link(const nlmsghdr* nlh) {
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  attribute_table attrs;
  mnl_attr_parse(nlh, sizeof(*ifi), collect_attribute, &attrs);
  kernel_link link;
  link.index = static_cast<unsigned>(ifi->ifi_index);
  link.up = (ifi->ifi_flags & IFF_UP) != 0;
  if (const auto* a = attrs.at[IFLA_IFNAME]) link.name = mnl_attr_get_str(a);
  if (const auto* a = attrs.at[IFLA_MTU]) link.mtu = mnl_attr_get_u32(a);
  if (const auto* info = attrs.at[IFLA_LINKINFO]) {
    attribute_table linkinfo;
    mnl_attr_parse_nested(info, collect_attribute, &linkinfo);
    if (const auto* kind = linkinfo.at[IFLA_INFO_KIND]) link.kind = mnl_attr_get_str(kind);
    if (const auto* data = linkinfo.at[IFLA_INFO_DATA]; data != nullptr && link.kind == "tun") {
      attribute_table tun;
      mnl_attr_parse_nested(data, collect_attribute, &tun);
      if (const auto* t = tun.at[IFLA_TUN_TYPE]) link.tun_type = mnl_attr_get_u8(t);
      if (const auto* mq = tun.at[IFLA_TUN_MULTI_QUEUE]) link.tun_multi_queue = mnl_attr_get_u8(mq) != 0;
      if (const auto* q = tun.at[IFLA_TUN_NUM_QUEUES]) link.tun_queues = mnl_attr_get_u32(q);
    }
  }
  return link;
}

// A request under construction: the netlink header and the family header T that follows it.
template <class T>
struct request {
  message_buffer buffer;
  nlmsghdr* nlh;
  T* body;

  request(std::uint16_t type, std::uint16_t flags) {
    nlh = mnl_nlmsg_put_header(buffer.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    body = static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)));
  }
};

// RTM_NEWLINK/RTM_GETLINK for one interface (by index; 0 when named by IFLA_IFNAME).
struct link_request : request<ifinfomsg> {
  link_request(std::uint16_t type, unsigned index) : request(type, NLM_F_REQUEST | NLM_F_ACK) {
    body->ifi_family = AF_UNSPEC;
    body->ifi_index = static_cast<int>(index);
  }
};

}  // namespace

rtnetlink::rtnetlink() {
  socket_ = mnl_socket_open(NETLINK_ROUTE);
  if (socket_ == nullptr) {
    throw std::system_error(errno, std::generic_category(), "cannot open a NETLINK_ROUTE socket");
  }
  if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(socket_);
    throw std::system_error(e, std::generic_category(), "cannot bind a NETLINK_ROUTE socket");
  }
  port_id_ = mnl_socket_get_portid(socket_);
  sequence_ = static_cast<std::uint32_t>(std::time(nullptr));
}

rtnetlink::~rtnetlink() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

void rtnetlink::transact(nlmsghdr* request, const message_callback& on_message, std::error_code& ec) {
  ec = {};
  request->nlmsg_seq = ++sequence_;
  if (mnl_socket_sendto(socket_, request, request->nlmsg_len) < 0) {
    ec.assign(errno, std::generic_category());
    return;
  }
  message_buffer buffer;
  mnl_cb_t callback = [](const nlmsghdr* nlh, void* data) -> int {
    (*static_cast<const message_callback*>(data))(nlh);
    return MNL_CB_OK;
  };
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) {
      ec.assign(errno, std::generic_category());
      return;
    }
    // Returns MNL_CB_STOP at NLMSG_DONE or at the ACK of a non-dump request, -1 with errno
    // set when the kernel answered with an error.
    const int r = mnl_cb_run(buffer.data(), static_cast<size_t>(n), request->nlmsg_seq, port_id_,
                             callback, const_cast<message_callback*>(&on_message));
    if (r < 0) {
      ec.assign(errno, std::generic_category());
      return;
    }
    if (r == MNL_CB_STOP) return;
  }
}

void rtnetlink::set_mtu(unsigned index, unsigned mtu, std::error_code& ec) {
  link_request r(RTM_NEWLINK, index);
  mnl_attr_put_u32(r.nlh, IFLA_MTU, mtu);
  transact(r.nlh, [](const nlmsghdr*) {}, ec);
}

void rtnetlink::set_txqueuelen(unsigned index, unsigned packets, std::error_code& ec) {
  link_request r(RTM_NEWLINK, index);
  mnl_attr_put_u32(r.nlh, IFLA_TXQLEN, packets);
  transact(r.nlh, [](const nlmsghdr*) {}, ec);
}

void rtnetlink::set_up(unsigned index, std::error_code& ec) {
  link_request r(RTM_NEWLINK, index);
  r.body->ifi_change = IFF_UP;
  r.body->ifi_flags = IFF_UP;
  transact(r.nlh, [](const nlmsghdr*) {}, ec);
}

void rtnetlink::add_address(unsigned index, const asio::ip::address& address,
                            unsigned prefix_length, std::error_code& ec) {
  // NLM_F_EXCL: the kernel says EEXIST if this exact address is already on the interface.
  request<ifaddrmsg> r(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  nlmsghdr* nlh = r.nlh;
  ifaddrmsg* ifa = r.body;
  ifa->ifa_family = address.is_v4() ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = index;
  put_address(nlh, IFA_LOCAL, address);
  put_address(nlh, IFA_ADDRESS, address);
  if (address.is_v6()) mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  transact(nlh, [](const nlmsghdr*) {}, ec);
  if (ec == std::errc::file_exists) ec = {};
}

std::vector<kernel_address> rtnetlink::addresses(std::error_code& ec) {
  request<ifaddrmsg> r(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  nlmsghdr* nlh = r.nlh;
  r.body->ifa_family = AF_UNSPEC;
  std::vector<kernel_address> result;
  transact(nlh, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWADDR) return;
    const auto* info = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(m));
    attribute_table attrs;
    mnl_attr_parse(m, sizeof(*info), collect_attribute, &attrs);
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
    // links, and the same as IFA_LOCAL otherwise (and the only one given for IPv6).
    const nlattr* a = attrs.at[IFA_LOCAL] != nullptr ? attrs.at[IFA_LOCAL] : attrs.at[IFA_ADDRESS];
    if (a == nullptr) return;
    if (auto addr = read_address(a, info->ifa_family)) {
      result.push_back({info->ifa_index, *addr, info->ifa_prefixlen});
    }
  }, ec);
  return result;
}

std::optional<rtnetlink::route> rtnetlink::route_to(const asio::ip::address& destination,
                                                    std::error_code& ec) {
  // A single answer: ask for the ACK too, so that mnl_cb_run knows where the answer ends.
  request<rtmsg> r(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK);
  nlmsghdr* nlh = r.nlh;
  rtmsg* rtm = r.body;
  rtm->rtm_family = destination.is_v4() ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = destination.is_v4() ? 32 : 128;
  put_address(nlh, RTA_DST, destination);
  std::optional<route> result;
  transact(nlh, [&](const nlmsghdr* m) {
    if (m->nlmsg_type != RTM_NEWROUTE) return;
    const auto* r = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(m));
    attribute_table attrs;
    mnl_attr_parse(m, sizeof(*r), collect_attribute, &attrs);
    route found;
    found.local = r->rtm_type == RTN_LOCAL;
    if (const auto* oif = attrs.at[RTA_OIF]) found.output_index = mnl_attr_get_u32(oif);
    result = found;
  }, ec);
  if (ec == std::errc::network_unreachable || ec == std::errc::host_unreachable) {
    ec = {};
    return std::nullopt;  // no route at all
  }
  return result;
}

std::optional<kernel_link> rtnetlink::get_link(nlmsghdr* nlh, std::error_code& ec) {
  std::optional<kernel_link> result;
  transact(nlh, [&](const nlmsghdr* m) {
    if (m->nlmsg_type == RTM_NEWLINK) result = parse_link(m);
  }, ec);
  if (ec == std::errc::no_such_device) {
    ec = {};
    return std::nullopt;
  }
  return result;
}

std::optional<kernel_link> rtnetlink::link_by_name(const std::string& name, std::error_code& ec) {
  link_request r(RTM_GETLINK, 0);
  mnl_attr_put_strz(r.nlh, IFLA_IFNAME, name.c_str());
  return get_link(r.nlh, ec);
}

std::optional<kernel_link> rtnetlink::link_by_index(unsigned index, std::error_code& ec) {
  link_request r(RTM_GETLINK, index);
  return get_link(r.nlh, ec);
}

}  // namespace tunstack::netif::detail
