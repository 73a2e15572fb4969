// What Debian's mingw-w64 headers (12.x) lack for the Windows agent, in one
// place. Each value is copied from a named source; nothing here is guessed.
// Names are syn-guard's own (namespace sg::win::compat), so a newer mingw that
// defines the SDK names cannot clash with them.
#pragma once

#include <windows.h>
// (after windows.h)
#include <evntcons.h>
#include <fwpmu.h>
#include <tdh.h>

namespace sg::win::compat {

// ---- WFP layer and condition keys ----------------------------------------
// mingw-w64's fwpmu.h declares the Fwpm* functions but none of the layer or
// condition GUIDs (the SDK defines them with DEFINE_GUID in fwpmu.h). Values
// from Microsoft's Win32 metadata as generated into windows-sys
// (microsoft/windows-rs, crates/libs/sys/src/Windows/Win32/NetworkManagement/
// WindowsFilteringPlatform/mod.rs: FWPM_LAYER_*, FWPM_CONDITION_*).
inline constexpr GUID kLayerAleAuthRecvAcceptV4 = {
    0xe1cd9fe7, 0xf4b5, 0x4273, {0x96, 0xc0, 0x59, 0x2e, 0x48, 0x7b, 0x86, 0x50}};
inline constexpr GUID kLayerAleAuthRecvAcceptV6 = {
    0xa3b42c97, 0x9f04, 0x4672, {0xb8, 0x7e, 0xce, 0xe9, 0xc4, 0x83, 0x25, 0x7f}};
inline constexpr GUID kLayerInboundTransportV4 = {
    0x5926dfc8, 0xe3cf, 0x4426, {0xa2, 0x83, 0xdc, 0x39, 0x3f, 0x5d, 0x0f, 0x9d}};
inline constexpr GUID kLayerInboundTransportV6 = {
    0x634a869f, 0xfc23, 0x4b90, {0xb0, 0xc1, 0xbf, 0x62, 0x0a, 0x36, 0xae, 0x6f}};
inline constexpr GUID kLayerAleAuthConnectV4 = {
    0xc38d57d1, 0x05a7, 0x4c33, {0x90, 0x4f, 0x7f, 0xbc, 0xee, 0xe6, 0x0e, 0x82}};
inline constexpr GUID kLayerAleAuthConnectV6 = {
    0x4a72393b, 0x319f, 0x44bc, {0x84, 0xc3, 0xba, 0x54, 0xdc, 0xb3, 0xb6, 0xb4}};
inline constexpr GUID kLayerOutboundTransportV4 = {
    0x09e61aea, 0xd214, 0x46e2, {0x9b, 0x21, 0xb2, 0x6b, 0x0b, 0x2f, 0x28, 0xc8}};
inline constexpr GUID kLayerOutboundTransportV6 = {
    0xe1735bde, 0x013f, 0x4655, {0xb3, 0x51, 0xa4, 0x9e, 0x15, 0x76, 0x2d, 0xf0}};
inline constexpr GUID kConditionIpRemoteAddress = {
    0xb235ae9a, 0x1d64, 0x49b8, {0xa4, 0x4c, 0x5f, 0xf3, 0xd9, 0x09, 0x50, 0x45}};

// ---- WFP session flags -----------------------------------------------------
// FWPM_SESSION_FLAG_DYNAMIC (fwpmtypes.h in the SDK; the same metadata:
// FWPM_SESSION_FLAG_DYNAMIC = 1): objects added in the session are deleted
// when its engine handle closes.
inline constexpr UINT32 kSessionFlagDynamic = 0x00000001;

// ---- WFP net event header flags -------------------------------------------
// FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET (fwpmtypes.h in the SDK; mingw-w64 has
// no FWPM_NET_EVENT_FLAG_*). Value from the same metadata (windows-sys:
// FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET = 1): FWPM_NET_EVENT_HEADER1's
// ipProtocol is set.
inline constexpr UINT32 kNetEventFlagIpProtocolSet = 0x00000001;

// ---- TDH: manifest-based lookups (Windows 8.1 and later) -------------------
// mingw-w64's tdh.h and libtdh.a have neither function, so they are looked up
// in tdh.dll at run time (a host without them falls back to the built-in
// layouts). Declarations as documented for tdh.h on learn.microsoft.com
// (TdhEnumerateManifestProviderEvents, TdhGetManifestEventInformation,
// PROVIDER_EVENT_INFO).
struct ProviderEventInfo {
  ULONG NumberOfEvents;
  ULONG Reserved;
  EVENT_DESCRIPTOR EventDescriptorsArray[ANYSIZE_ARRAY];
};
using TdhEnumerateManifestProviderEventsFn = ULONG(WINAPI*)(LPGUID provider,
                                                            ProviderEventInfo* buffer,
                                                            ULONG* buffer_size);
using TdhGetManifestEventInformationFn = ULONG(WINAPI*)(LPGUID provider,
                                                        PEVENT_DESCRIPTOR descriptor,
                                                        PTRACE_EVENT_INFO buffer,
                                                        ULONG* buffer_size);

// Microsoft-Windows-TCPIP's provider GUID (its manifest, and the issue text).
inline constexpr GUID kTcpipProvider = {
    0x2f07e2ee, 0x15db, 0x40f1, {0x90, 0xef, 0x9d, 0x7b, 0xa2, 0x82, 0x18, 0x8a}};

}  // namespace sg::win::compat
