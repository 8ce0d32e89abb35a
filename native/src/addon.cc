// Module entry: LiveCapture, RawIpSocket, listDevices(), libVersion().
#include <arpa/inet.h>
#include <napi.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include <string>

#include "capture-error.h"
#include "live-capture.h"
#include "netns.h"
#include "packet-injector.h"
#include "raw-ip-socket.h"
#include "udp-batch.h"

namespace podspan {

namespace {

std::string AddrString(const struct sockaddr* sa) {
  if (sa == nullptr) return "";
  char text[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const struct sockaddr_in*>(sa)->sin_addr, text,
              sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const struct sockaddr_in6*>(sa)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

struct DeviceInfo {
  std::string name;
  std::string description;
  bool loopback;
  bool up;
  bool running;
  std::vector<std::pair<std::string, std::string>> addresses;  // address, netmask
};

// listDevices({ netns? }) -> [{ name, description, loopback, up, running, addresses }]
Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Value ns = info[0].As<Napi::Object>().Get("netns");
    if (ns.IsString()) netns = ns.As<Napi::String>().Utf8Value();
  }
  std::vector<DeviceInfo> devices;
  std::string error;
  std::string nsErr = RunInNetns(netns, [&]() {
    char errbuf[PCAP_ERRBUF_SIZE];
    errbuf[0] = '\0';
    pcap_if_t* all = nullptr;
    if (pcap_findalldevs(&all, errbuf) != 0) {
      error = errbuf;
      return;
    }
    for (pcap_if_t* d = all; d != nullptr; d = d->next) {
      DeviceInfo di;
      di.name = d->name != nullptr ? d->name : "";
      di.description = d->description != nullptr ? d->description : "";
      di.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0;
      di.up = (d->flags & PCAP_IF_UP) != 0;
      di.running = (d->flags & PCAP_IF_RUNNING) != 0;
      for (pcap_addr_t* a = d->addresses; a != nullptr; a = a->next) {
        std::string addr = AddrString(a->addr);
        if (!addr.empty()) di.addresses.emplace_back(addr, AddrString(a->netmask));
      }
      devices.push_back(std::move(di));
    }
    pcap_freealldevs(all);
  });
  if (!nsErr.empty()) throw MakeError(env, kErrNetns, nsErr);
  if (!error.empty()) throw MakeError(env, kErrOpen, "pcap_findalldevs: " + error);
  Napi::Array out = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); i++) {
    const DeviceInfo& di = devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", di.name);
    o.Set("description", di.description);
    o.Set("loopback", di.loopback);
    o.Set("up", di.up);
    o.Set("running", di.running);
    Napi::Array addrs = Napi::Array::New(env, di.addresses.size());
    for (size_t j = 0; j < di.addresses.size(); j++) {
      Napi::Object a = Napi::Object::New(env);
      a.Set("address", di.addresses[j].first);
      a.Set("netmask", di.addresses[j].second);
      addrs.Set(static_cast<uint32_t>(j), a);
    }
    o.Set("addresses", addrs);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value LibVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), pcap_lib_version());
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("LiveCapture", LiveCapture::Init(env));
  exports.Set("RawIpSocket", RawIpSocket::Init(env));
  exports.Set("PacketInjector", PacketInjector::Init(env));
  exports.Set("UdpBatchSocket", UdpBatchSocket::Init(env));
  exports.Set("listDevices", Napi::Function::New<ListDevices>(env, "listDevices"));
  exports.Set("libVersion", Napi::Function::New<LibVersion>(env, "libVersion"));
  return exports;
}

}  // namespace podspan

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return podspan::Init(env, exports);
}

NODE_API_MODULE(podspan_native, InitModule)
