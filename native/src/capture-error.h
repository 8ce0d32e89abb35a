// Errors thrown by the addon: a plain Error with a stable `code` property.
// native/index.ts turns them into CaptureError instances; the codes are listed there.
#pragma once
#include <napi.h>

#include <string>

namespace podspan {

constexpr const char* kErrNoSuchDevice = "PODSPAN_ERR_CAPTURE_NO_SUCH_DEVICE";
constexpr const char* kErrPerm = "PODSPAN_ERR_CAPTURE_PERM";
constexpr const char* kErrBadFilter = "PODSPAN_ERR_CAPTURE_BAD_FILTER";
constexpr const char* kErrOpen = "PODSPAN_ERR_CAPTURE_OPEN";
constexpr const char* kErrIfaceDown = "PODSPAN_ERR_CAPTURE_IFACE_DOWN";
constexpr const char* kErrRead = "PODSPAN_ERR_CAPTURE_READ";
constexpr const char* kErrNetns = "PODSPAN_ERR_NETNS";
constexpr const char* kErrSocket = "PODSPAN_ERR_RAW_SOCKET";
constexpr const char* kErrArg = "PODSPAN_ERR_NATIVE_ARG";
constexpr const char* kErrState = "PODSPAN_ERR_NATIVE_STATE";

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message);

}  // namespace podspan
