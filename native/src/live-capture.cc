#include "live-capture.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "capture-error.h"
#include "netns.h"

namespace podspan {

namespace {

constexpr int kDefaultSnapLen = 262144;
constexpr int kDefaultBufferSize = 8 * 1024 * 1024;
constexpr int kDefaultTimeoutMs = 100;
// Upper bound on one wait while idle; close() and release() wake the thread earlier.
constexpr int kIdlePollMs = 1000;
// Back-off after a poll error indication that pcap_dispatch did not turn into an error
// (ENETDOWN while the interface is down but still exists).
constexpr int kErrorBackoffMs = 10;
constexpr uint32_t kEpbBlockType = 6;  // draft-ietf-opsawg-pcapng §4.3
constexpr uint64_t kNsPerSec = 1000000000ULL;

// pcapng as the agent writes it is little-endian whatever the host.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void PutLe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

int OptInt(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) {
    throw MakeError(o.Env(), kErrArg, std::string("option ") + key + " must be a number");
  }
  return v.As<Napi::Number>().Int32Value();
}

bool OptBool(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  return v.ToBoolean().Value();
}

std::string OptString(const Napi::Object& o, const char* key, const std::string& def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsString()) {
    throw MakeError(o.Env(), kErrArg, std::string("option ") + key + " must be a string");
  }
  return v.As<Napi::String>().Utf8Value();
}

// The code for a negative pcap_activate() result.
const char* ActivateErrorCode(int status) {
  switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return kErrNoSuchDevice;
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return kErrPerm;
    case PCAP_ERROR_IFACE_NOT_UP:
      return kErrIfaceDown;
    default:
      return kErrOpen;
  }
}

struct OpenResult {
  pcap_t* pcap = nullptr;
  const char* code = nullptr;
  std::string message;
  std::string warning;
  bool nano = false;
};

struct OpenParams {
  std::string iface;
  int snapLen;
  int bufferSize;
  std::string filter;
  bool promisc;
  pcap_direction_t direction;
  int timeoutMs;
  bool immediate;
};

void Fail(OpenResult& r, const char* code, const std::string& message) {
  if (r.pcap != nullptr) {
    pcap_close(r.pcap);
    r.pcap = nullptr;
  }
  r.code = code;
  r.message = message;
}

// Everything that touches the interface; runs inside the target network namespace.
void OpenPcap(const OpenParams& o, OpenResult& r) {
  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  r.pcap = pcap_create(o.iface.c_str(), errbuf);
  if (r.pcap == nullptr) {
    Fail(r, kErrOpen, o.iface + ": " + errbuf);
    return;
  }
  pcap_set_snaplen(r.pcap, o.snapLen);
  pcap_set_promisc(r.pcap, o.promisc ? 1 : 0);
  pcap_set_timeout(r.pcap, o.timeoutMs);
  pcap_set_buffer_size(r.pcap, o.bufferSize);
  // Non-immediate mode keeps libpcap on TPACKET_V3: the kernel fills whole blocks and
  // retires a partly filled one after timeoutMs, so one wakeup carries many frames.
  pcap_set_immediate_mode(r.pcap, o.immediate ? 1 : 0);
  // Fails with PCAP_ERROR_TSTAMP_PRECISION_NOTSUP where only microseconds exist; the
  // precision actually in use is read back after activation.
  pcap_set_tstamp_precision(r.pcap, PCAP_TSTAMP_PRECISION_NANO);

  int status = pcap_activate(r.pcap);
  if (status < 0) {
    std::string detail = pcap_geterr(r.pcap);
    std::string status_text = pcap_statustostr(status);
    std::string text = o.iface + ": " + status_text;
    if (!detail.empty() && detail != status_text) text += " (" + detail + ")";
    Fail(r, ActivateErrorCode(status), text);
    return;
  }
  if (status > 0) {
    std::string detail = pcap_geterr(r.pcap);
    std::string status_text = pcap_statustostr(status);
    r.warning = o.iface + ": " + status_text;
    if (!detail.empty() && detail != status_text) r.warning += " (" + detail + ")";
  }
  r.nano = pcap_get_tstamp_precision(r.pcap) == PCAP_TSTAMP_PRECISION_NANO;

  if (o.direction != PCAP_D_INOUT && pcap_setdirection(r.pcap, o.direction) != 0) {
    Fail(r, kErrOpen, o.iface + ": cannot set capture direction: " + pcap_geterr(r.pcap));
    return;
  }
  if (!o.filter.empty()) {
    struct bpf_program prog;
    if (pcap_compile(r.pcap, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      Fail(r, kErrBadFilter, "BPF filter \"" + o.filter + "\": " + pcap_geterr(r.pcap));
      return;
    }
    int set = pcap_setfilter(r.pcap, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      Fail(r, kErrBadFilter, "BPF filter \"" + o.filter + "\" rejected: " + pcap_geterr(r.pcap));
      return;
    }
  }
  // The capture thread waits in poll() on this descriptor and an eventfd, then drains
  // without blocking, so close() and release() never wait for a kernel timeout.
  if (pcap_setnonblock(r.pcap, 1, errbuf) != 0) {
    Fail(r, kErrOpen, o.iface + ": cannot set non-blocking mode: " + errbuf);
    return;
  }
  if (pcap_get_selectable_fd(r.pcap) < 0) {
    Fail(r, kErrOpen, o.iface + ": no selectable descriptor");
    return;
  }
}

}  // namespace

Napi::Function LiveCapture::Init(Napi::Env env) {
  return DefineClass(
      env, "LiveCapture",
      {
          InstanceMethod<&LiveCapture::Start>("start"),
          InstanceMethod<&LiveCapture::Release>("release"),
          InstanceMethod<&LiveCapture::Stats>("stats"),
          InstanceMethod<&LiveCapture::Close>("close"),
          InstanceMethod<&LiveCapture::SetRef>("setRef"),
          InstanceAccessor<&LiveCapture::GetLinkType>("linkType"),
          InstanceAccessor<&LiveCapture::GetLinkTypeName>("linkTypeName"),
          InstanceAccessor<&LiveCapture::GetNanoTimestamps>("nanoTimestamps"),
          InstanceAccessor<&LiveCapture::GetSnapLen>("snapLen"),
          InstanceAccessor<&LiveCapture::GetWarning>("warning"),
          InstanceAccessor<&LiveCapture::GetLayout>("layout"),
      });
}

// new LiveCapture({ iface, snapLen?, bufferSize?, filter?, promisc?, direction?,
//                   timeoutMs?, immediate?, netns?, layout? })
// layout: 'plain' (frames back to back, the default) or 'epb' (each frame inside a pcapng
// Enhanced Packet Block; the interface id is given to start()).
LiveCapture::LiveCapture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LiveCapture>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw MakeError(env, kErrArg, "LiveCapture: options object required");
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  OpenParams p;
  p.iface = OptString(opts, "iface", "");
  if (p.iface.empty()) throw MakeError(env, kErrArg, "LiveCapture: iface is required");
  p.snapLen = OptInt(opts, "snapLen", kDefaultSnapLen);
  p.bufferSize = OptInt(opts, "bufferSize", kDefaultBufferSize);
  p.filter = OptString(opts, "filter", "");
  p.promisc = OptBool(opts, "promisc", false);
  p.timeoutMs = OptInt(opts, "timeoutMs", kDefaultTimeoutMs);
  p.immediate = OptBool(opts, "immediate", false);
  std::string dir = OptString(opts, "direction", "inout");
  if (dir == "inout") {
    p.direction = PCAP_D_INOUT;
  } else if (dir == "in") {
    p.direction = PCAP_D_IN;
  } else if (dir == "out") {
    p.direction = PCAP_D_OUT;
  } else {
    throw MakeError(env, kErrArg, "LiveCapture: direction must be inout, in or out");
  }
  if (p.snapLen <= 0 || p.bufferSize <= 0 || p.timeoutMs < 0) {
    throw MakeError(env, kErrArg, "LiveCapture: snapLen and bufferSize must be positive");
  }
  std::string netns = OptString(opts, "netns", "");
  int coalesceMs = OptInt(opts, "coalesceMs", 0);
  if (coalesceMs < 0) throw MakeError(env, kErrArg, "LiveCapture: coalesceMs must not be negative");
  std::string layout = OptString(opts, "layout", "plain");
  if (layout != "plain" && layout != "epb") {
    throw MakeError(env, kErrArg, "LiveCapture: layout must be plain or epb");
  }

  OpenResult r;
  std::string nsErr = RunInNetns(netns, [&]() { OpenPcap(p, r); });
  if (!nsErr.empty()) throw MakeError(env, kErrNetns, nsErr);
  if (r.pcap == nullptr) throw MakeError(env, r.code, r.message);

  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    pcap_close(r.pcap);
    throw MakeError(env, kErrOpen, std::string("eventfd: ") + std::strerror(errno));
  }
  pcap_ = r.pcap;
  pcapFd_ = pcap_get_selectable_fd(pcap_);
  linkType_ = pcap_datalink(pcap_);
  snapLen_ = static_cast<size_t>(pcap_snapshot(pcap_));
  nano_ = r.nano;
  warning_ = r.warning;
  epb_ = layout == "epb";
  coalesceNs_ = static_cast<int64_t>(coalesceMs) * 1000000;
}

LiveCapture::~LiveCapture() {
  // Normally the thread is gone long before: a running capture holds a strong reference
  // to this object until its thread-safe function is finalized.
  closing_ = true;
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  if (pcap_ != nullptr) pcap_close(pcap_);
  if (wakeFd_ >= 0) close(wakeFd_);
}

// start(dataA, metaA, dataB, metaB, callback, epbInterfaceId?)
// callback(kind, slot, count, error, bytes, truncated): kind 1 = batch in `slot` with
// `count` rows using `bytes` bytes of data from offset 0, `truncated` of them cut by the
// snap length; kind 2 = fatal read error (the capture has stopped). Returning true from a
// batch call releases the slot; otherwise JS must call release(slot) later.
// epbInterfaceId: the pcapng interface id written into every block (layout 'epb').
Napi::Value LiveCapture::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_ || closed_ || closing_) {
    throw MakeError(env, kErrState, "LiveCapture: already started or closed");
  }
  if (info.Length() < 5 || !info[4].IsFunction()) {
    throw MakeError(env, kErrArg, "start(dataA, metaA, dataB, metaB, callback, epbInterfaceId?)");
  }
  uint32_t epbIfaceId = 0;
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    double id = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : -1;
    if (!(id >= 0 && id <= 4294967295.0) || id != static_cast<double>(static_cast<uint32_t>(id))) {
      throw MakeError(env, kErrArg, "epbInterfaceId must be an integer in 0..2^32-1");
    }
    epbIfaceId = static_cast<uint32_t>(id);
  }
  // An empty slot must take the largest frame: in layout 'epb', with its block around it.
  size_t minData = snapLen_ + (epb_ ? kEpbMaxOverhead : 0);
  for (int i = 0; i < 2; i++) {
    Napi::Value data = info[i * 2];
    Napi::Value meta = info[i * 2 + 1];
    if (!data.IsBuffer()) throw MakeError(env, kErrArg, "data must be a Buffer");
    if (!meta.IsTypedArray() ||
        meta.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw MakeError(env, kErrArg, "meta must be a Float64Array");
    }
    auto buf = data.As<Napi::Buffer<uint8_t>>();
    auto rows = meta.As<Napi::Float64Array>();
    Slot& s = slots_[i];
    s.data = buf.Data();
    s.dataCap = buf.Length();
    s.meta = rows.Data();
    s.rowCap = rows.ElementLength() / kMetaCols;
    if (s.dataCap < minData) {
      throw MakeError(env, kErrArg,
                      "data buffer (" + std::to_string(s.dataCap) +
                          " bytes) is smaller than the snap length (" +
                          std::to_string(snapLen_) + ")" +
                          (epb_ ? " plus one block's overhead" : ""));
    }
    if (s.rowCap == 0) throw MakeError(env, kErrArg, "meta must hold at least one row");
  }
  for (int i = 0; i < 2; i++) {
    // Strong references: native code writes into this memory from the capture thread.
    slots_[i].dataRef = Napi::Persistent(info[i * 2]);
    slots_[i].metaRef = Napi::Persistent(info[i * 2 + 1]);
    slots_[i].count = 0;
    slots_[i].dataOff = 0;
    slots_[i].truncated = 0;
    slots_[i].state = SlotState::kFree;
  }
  cur_ = 0;
  slots_[0].state = SlotState::kFilling;
  epbIfaceId_ = epbIfaceId;
  spill_.resize(minData);
  spillFull_ = false;

  tsfn_ = Tsfn::New(env, info[4].As<Napi::Function>(), "podspan.LiveCapture", 0, 1, this,
                    OnTsfnFinalize, static_cast<void*>(nullptr));
  Ref();  // kept alive until the thread-safe function is finalized
  started_ = true;
  thread_ = std::thread([this]() { Run(); });
  return env.Undefined();
}

bool LiveCapture::SlotFull(const Slot& s) const {
  return s.count >= s.rowCap || spillFull_ || s.dataOff >= s.dataCap;
}

void LiveCapture::PlaceSpill() {
  Slot& s = slots_[cur_];
  if (!spillFull_ || s.count != 0) return;
  // An empty slot holds at least one snap length (and one block's overhead; checked in Start).
  std::memcpy(s.data, spill_.data(), spillBytes_);
  double* row = s.meta;
  for (size_t c = 0; c < kMetaCols; c++) row[c] = spillRow_[c];
  row[0] = epb_ ? static_cast<double>(kEpbHeaderLen) : 0;
  s.dataOff = spillBytes_;
  s.count = 1;
  s.truncated = spillTruncated_;
  spillFull_ = false;
}

// Hands the filling slot to JS if it holds frames and JS holds nothing (or `force`, used
// when the thread is about to stop writing for good). Caller holds mu_.
bool LiveCapture::HandOver(bool force) {
  Slot& c = slots_[cur_];
  Slot& o = slots_[1 - cur_];
  if (c.count == 0 || tsfnDead_) return false;
  if (o.state != SlotState::kFree && !force) return false;
  auto* ev = new CaptureEvent{CaptureEvent::kBatch, cur_, c.count, c.dataOff, c.truncated, nullptr,
                              std::string()};
  c.state = SlotState::kJs;
  if (tsfn_.NonBlockingCall(ev) != napi_ok) {
    delete ev;  // closing: nobody will read it
    c.state = SlotState::kFilling;
    return false;
  }
  delivered_.fetch_add(c.count, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  firstAtNs_ = 0;
  if (o.state == SlotState::kFree) {
    cur_ = 1 - cur_;
    o.state = SlotState::kFilling;
    o.count = 0;
    o.dataOff = 0;
    o.truncated = 0;
  }
  return true;
}

void LiveCapture::OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
  auto* self = reinterpret_cast<LiveCapture*>(user);
  Slot& s = self->slots_[self->cur_];
  size_t capLen = h->caplen;
  const bool epb = self->epb_;
  // Bytes this frame takes in the slot: in layout 'epb' its whole block.
  size_t pad = (4 - (capLen & 3)) & 3;
  size_t need = epb ? kEpbHeaderLen + capLen + pad + kEpbTrailerLen : capLen;
  double* row;
  uint8_t* dst;
  bool spilled = false;
  if (s.count < s.rowCap && s.dataCap - s.dataOff >= need && !self->spillFull_) {
    dst = s.data + s.dataOff;
    row = s.meta + s.count * kMetaCols;
  } else if (!self->spillFull_ && need <= self->spill_.size()) {
    // No room left: keep this one frame aside and stop the dispatch; it opens the next slot.
    dst = self->spill_.data();
    row = self->spillRow_;
    spilled = true;
    self->spillFull_ = true;
    self->spillBytes_ = need;
    self->spillTruncated_ = capLen < h->len ? 1 : 0;
    pcap_breakloop(self->pcap_);
  } else {
    // Cannot happen: libpcap checks break_loop before every frame. Counted, never grown.
    self->ringFull_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // With nanosecond precision libpcap stores nanoseconds in tv_usec.
  uint64_t nsec = static_cast<uint64_t>(self->nano_ ? h->ts.tv_usec : h->ts.tv_usec * 1000);
  double frameOff = static_cast<double>(s.dataOff);
  if (epb) {
    // Timestamp in 1 ns units (if_tsresol = 9), high 32 bits first.
    uint64_t ticks = static_cast<uint64_t>(h->ts.tv_sec) * kNsPerSec + nsec;
    uint32_t blockLen = static_cast<uint32_t>(need);
    PutLe32(dst, kEpbBlockType);
    PutLe32(dst + 4, blockLen);
    PutLe32(dst + 8, self->epbIfaceId_);
    PutLe32(dst + 12, static_cast<uint32_t>(ticks >> 32));
    PutLe32(dst + 16, static_cast<uint32_t>(ticks));
    PutLe32(dst + 20, static_cast<uint32_t>(capLen));
    PutLe32(dst + 24, h->len);
    std::memcpy(dst + kEpbHeaderLen, bytes, capLen);
    uint8_t* tail = dst + kEpbHeaderLen + capLen;
    // Padding must be zero; the slot is reused, so write it (at most 3 bytes).
    for (size_t k = 0; k < pad; k++) tail[k] = 0;
    PutLe32(tail + pad, blockLen);
    frameOff += kEpbHeaderLen;
  } else {
    std::memcpy(dst, bytes, capLen);
  }
  row[0] = frameOff;
  row[1] = static_cast<double>(capLen);
  row[2] = static_cast<double>(h->len);
  row[3] = static_cast<double>(h->ts.tv_sec);
  row[4] = static_cast<double>(nsec);
  if (spilled) return;
  s.dataOff += need;
  if (capLen < h->len) s.truncated++;
  s.count++;
}

void LiveCapture::Run() {
  struct pollfd fds[2];
  fds[0].fd = pcapFd_;
  fds[0].events = POLLIN;
  fds[1].fd = wakeFd_;
  fds[1].events = POLLIN;
  bool more = false;  // the last dispatch stopped at its count; frames are likely waiting
  const char* fatalCode = nullptr;
  std::string fatal;

  while (!closing_.load()) {
    bool full = SlotFull(slots_[cur_]);
    int64_t waitNs = 0;  // coalescing: how long the filling slot may still wait
    if (coalesceNs_ > 0 && slots_[cur_].count > 0) {
      int64_t now = NowNs();
      if (firstAtNs_ == 0) firstAtNs_ = now;
      waitNs = firstAtNs_ + coalesceNs_ - now;
    }
    if ((!more && waitNs <= 0) || full) {
      // The kernel ring is drained (or the slot is full): hand the batch over. While frames
      // keep coming, keep filling: batches grow to whole ring blocks (and, with coalesceMs,
      // to what arrives within coalesceMs of the slot's first frame).
      std::lock_guard<std::mutex> lk(mu_);
      HandOver(false);
      PlaceSpill();
      full = SlotFull(slots_[cur_]);
    }
    uint64_t drain;
    if (full) {
      // JS holds the other slot. Stop reading: frames wait in the kernel ring.
      fds[1].revents = 0;
      poll(&fds[1], 1, kIdlePollMs);
      if (fds[1].revents & POLLIN) (void)!read(wakeFd_, &drain, sizeof drain);
      continue;
    }
    fds[0].revents = 0;
    fds[1].revents = 0;
    if (!more) {
      // Frames may be waiting only after a dispatch that stopped early; otherwise wait.
      int timeoutMs = kIdlePollMs;
      if (waitNs > 0) timeoutMs = static_cast<int>((waitNs + 999999) / 1000000);
      int pr = poll(fds, 2, timeoutMs);
      if (pr < 0 && errno != EINTR) {
        fatalCode = kErrRead;
        fatal = std::string("poll: ") + std::strerror(errno);
        break;
      }
      if (fds[1].revents & POLLIN) (void)!read(wakeFd_, &drain, sizeof drain);
      if (closing_.load()) break;
    }

    // Bounded by the rows left; a frame that does not fit the data left is spilled (OnPacket).
    const Slot& s = slots_[cur_];
    size_t room = s.rowCap - s.count;
    int cnt = room > 1000000 ? 1000000 : static_cast<int>(room);
    int n;
    {
      std::lock_guard<std::mutex> lk(pcapMu_);
      n = pcap_dispatch(pcap_, cnt, OnPacket, reinterpret_cast<u_char*>(this));
      if (n == PCAP_ERROR) fatal = pcap_geterr(pcap_);
    }
    if (n == PCAP_ERROR) {
      fatalCode = kErrRead;
      break;
    }
    if (n == PCAP_ERROR_BREAK) {
      // A frame was spilled: the slot is full and more frames are likely waiting.
      more = true;
      continue;
    }
    more = n > 0 && n >= cnt;
    if (n == 0 && (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
      fds[1].revents = 0;
      poll(&fds[1], 1, kErrorBackoffMs);
    }
  }

  {
    std::lock_guard<std::mutex> lk(mu_);
    if (fatalCode != nullptr && !tsfnDead_) {
      // Nothing will be written any more, so the last frames go to JS even if it still
      // holds the other slot; then the error. A spilled frame has no slot left: counted.
      HandOver(true);
      if (spillFull_) ringFull_.fetch_add(1, std::memory_order_relaxed);
      auto* ev = new CaptureEvent{CaptureEvent::kError, -1, 0, 0, 0, fatalCode, fatal};
      if (tsfn_.NonBlockingCall(ev) != napi_ok) delete ev;
    }
  }
  {
    std::lock_guard<std::mutex> lk(pcapMu_);
    SnapshotStats();
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (!tsfnDead_) tsfn_.Release();
}

void LiveCapture::Wake() {
  uint64_t one = 1;
  (void)!write(wakeFd_, &one, sizeof one);
}

void LiveCapture::ReleaseSlot(int slot) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    Slot& s = slots_[slot];
    if (s.state != SlotState::kJs) return;
    s.state = SlotState::kFree;
    s.count = 0;
    s.dataOff = 0;
    s.truncated = 0;
  }
  Wake();
}

Napi::Value LiveCapture::Release(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw MakeError(info.Env(), kErrArg, "release(slot)");
  }
  int slot = info[0].As<Napi::Number>().Int32Value();
  if (slot != 0 && slot != 1) throw MakeError(info.Env(), kErrArg, "slot must be 0 or 1");
  ReleaseSlot(slot);
  return info.Env().Undefined();
}

void CaptureCallJs(Napi::Env env, Napi::Function callback, LiveCapture* self,
                   CaptureEvent* ev) {
  std::unique_ptr<CaptureEvent> owned(ev);
  if (env == nullptr || self == nullptr || ev == nullptr) return;
  // No callbacks once close() has been called; the slot is never read again.
  if (self->closing_.load()) return;
  try {
    if (ev->kind == CaptureEvent::kBatch) {
      Napi::Value r = callback.Call({Napi::Number::New(env, CaptureEvent::kBatch),
                                     Napi::Number::New(env, ev->slot),
                                     Napi::Number::New(env, static_cast<double>(ev->count)),
                                     env.Undefined(),
                                     Napi::Number::New(env, static_cast<double>(ev->bytes)),
                                     Napi::Number::New(env, static_cast<double>(ev->truncated))});
      if (r.IsBoolean() && r.As<Napi::Boolean>().Value()) self->ReleaseSlot(ev->slot);
    } else {
      callback.Call({Napi::Number::New(env, CaptureEvent::kError), Napi::Number::New(env, -1),
                     Napi::Number::New(env, 0), MakeError(env, ev->code, ev->message).Value()});
    }
  } catch (const Napi::Error& e) {
    // Surfaces as an uncaught exception, as a throwing event listener would (a pending
    // exception here would only raise a deprecation warning under Node's default policy).
    napi_fatal_exception(env, e.Value());
  }
}

void LiveCapture::OnTsfnFinalize(Napi::Env env, void* /*data*/, LiveCapture* self) {
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    self->tsfnDead_ = true;
  }
  // Normally the thread has already left Run(); on environment teardown it is stopped here.
  self->closing_ = true;
  self->Wake();
  if (self->thread_.joinable()) self->thread_.join();
  self->closed_ = true;
  for (auto& s : self->slots_) {
    s.dataRef.Reset();
    s.metaRef.Reset();
  }
  std::vector<Napi::Promise::Deferred> waiters;
  waiters.swap(self->closeWaiters_);
  for (auto& d : waiters) d.Resolve(env.Undefined());
  self->Unref();
}

void LiveCapture::SnapshotStats() {
  if (pcap_ == nullptr) return;
  struct pcap_stat ps;
  if (pcap_stats(pcap_, &ps) == 0) {
    finalStats_ = ps;
    haveFinalStats_ = true;
  }
}

Napi::Object LiveCapture::StatsObject(Napi::Env env, const struct pcap_stat& ps) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("received", Napi::Number::New(env, ps.ps_recv));
  o.Set("dropped", Napi::Number::New(env, ps.ps_drop));
  o.Set("ifDropped", Napi::Number::New(env, ps.ps_ifdrop));
  o.Set("ringFull", Napi::Number::New(env, static_cast<double>(ringFull_.load())));
  o.Set("delivered", Napi::Number::New(env, static_cast<double>(delivered_.load())));
  o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_.load())));
  return o;
}

Napi::Value LiveCapture::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct pcap_stat ps = {};
  std::lock_guard<std::mutex> lk(pcapMu_);
  if (pcap_ != nullptr) {
    if (pcap_stats(pcap_, &ps) != 0) {
      throw MakeError(env, kErrRead, std::string("pcap_stats: ") + pcap_geterr(pcap_));
    }
  } else if (haveFinalStats_) {
    ps = finalStats_;
  }
  return StatsObject(env, ps);
}

Napi::Value LiveCapture::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  if (!started_) {
    std::lock_guard<std::mutex> lk(pcapMu_);
    SnapshotStats();
    if (pcap_ != nullptr) pcap_close(pcap_);
    pcap_ = nullptr;
    closed_ = true;
    closing_ = true;
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  closing_ = true;
  closeWaiters_.push_back(deferred);
  Wake();
  return deferred.Promise();
}

// setRef(false) lets the process exit while the capture runs (like socket.unref()).
Napi::Value LiveCapture::SetRef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started_ || closed_) return env.Undefined();
  bool ref = info.Length() > 0 && info[0].ToBoolean().Value();
  if (ref) {
    tsfn_.Ref(env);
  } else {
    tsfn_.Unref(env);
  }
  return env.Undefined();
}

Napi::Value LiveCapture::GetLinkType(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), linkType_);
}

Napi::Value LiveCapture::GetLinkTypeName(const Napi::CallbackInfo& info) {
  const char* name = pcap_datalink_val_to_name(linkType_);
  return Napi::String::New(info.Env(), name != nullptr ? name : "");
}

Napi::Value LiveCapture::GetNanoTimestamps(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), nano_);
}

Napi::Value LiveCapture::GetSnapLen(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(snapLen_));
}

Napi::Value LiveCapture::GetWarning(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), warning_);
}

Napi::Value LiveCapture::GetLayout(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), epb_ ? "epb" : "plain");
}

}  // namespace podspan
