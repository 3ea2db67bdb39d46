// Image sniffing: walks the PNG header and the JPEG marker segments far enough to find the size.
#include "server/image_check.h"

#include <string>
#include <string_view>
#include <utility>

namespace portail::server {
namespace {

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
constexpr std::string_view kPngIend("\0\0\0\0IEND", 8);  // an empty IEND chunk: length and type
constexpr size_t kPngHeaderEnd = 8 + 4 + 4 + 13;         // signature, IHDR length, type, data

uint8_t Byte(std::string_view bytes, size_t pos) { return static_cast<uint8_t>(bytes[pos]); }

uint32_t BigEndian16(std::string_view bytes, size_t pos) {
  return (uint32_t{Byte(bytes, pos)} << 8) | Byte(bytes, pos + 1);
}

uint32_t BigEndian32(std::string_view bytes, size_t pos) {
  return (BigEndian16(bytes, pos) << 16) | BigEndian16(bytes, pos + 2);
}

std::unexpected<Error> Truncated() { return Fail(ErrorCode::kInvalid, "the image is truncated"); }
std::unexpected<Error> Damaged() { return Fail(ErrorCode::kInvalid, "the image is damaged"); }

Result<ImageInfo> Sized(std::string content_type, uint32_t width, uint32_t height) {
  if (width == 0 || height == 0) return Fail(ErrorCode::kInvalid, "the image has no size");
  if (width > kMaxImageSide || height > kMaxImageSide) {
    return Fail(ErrorCode::kInvalid, "the image is larger than " + std::to_string(kMaxImageSide) +
                                         " pixels on one side");
  }
  return ImageInfo{std::move(content_type), width, height};
}

Result<ImageInfo> SniffPng(std::string_view bytes) {
  if (bytes.size() < kPngHeaderEnd) return Truncated();
  if (BigEndian32(bytes, 8) != 13 || bytes.substr(12, 4) != "IHDR") return Damaged();
  Result<ImageInfo> info = Sized("image/png", BigEndian32(bytes, 16), BigEndian32(bytes, 20));
  if (!info) return info;
  if (bytes.find(kPngIend, kPngHeaderEnd) == std::string_view::npos) return Truncated();
  return info;
}

// Start Of Frame markers, which carry the image size: C0-CF except C4 (DHT), C8 (JPG), CC (DAC).
bool IsStartOfFrame(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

Result<ImageInfo> SniffJpeg(std::string_view bytes) {
  size_t pos = 2;  // after SOI (FF D8)
  while (true) {
    if (pos >= bytes.size()) return Truncated();
    if (Byte(bytes, pos) != 0xFF) return Damaged();
    while (pos < bytes.size() && Byte(bytes, pos) == 0xFF) ++pos;  // the marker and fill bytes
    if (pos >= bytes.size()) return Truncated();
    const uint8_t marker = Byte(bytes, pos++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length, no data
    if (marker == 0x00 || marker == 0xD8) return Damaged();
    // The scan or the end of the image before any frame header: nothing says how large it is.
    if (marker == 0xDA || marker == 0xD9) return Fail(ErrorCode::kInvalid, "the image has no size");
    if (bytes.size() - pos < 2) return Truncated();
    const uint32_t length = BigEndian16(bytes, pos);  // counts itself, not the marker
    if (length < 2) return Damaged();
    if (bytes.size() - pos < length) return Truncated();
    if (IsStartOfFrame(marker)) {
      if (length < 8) return Damaged();  // length, precision, height, width, component count
      return Sized("image/jpeg", BigEndian16(bytes, pos + 5), BigEndian16(bytes, pos + 3));
    }
    pos += length;
  }
}

}  // namespace

Result<ImageInfo> SniffImage(std::string_view bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return Fail(ErrorCode::kPayloadTooLarge,
                "the image is larger than " + std::to_string(max_bytes) + " bytes");
  }
  if (bytes.starts_with(kPngSignature)) return SniffPng(bytes);
  if (bytes.size() >= 2 && Byte(bytes, 0) == 0xFF && Byte(bytes, 1) == 0xD8) {
    return SniffJpeg(bytes);
  }
  return Fail(ErrorCode::kInvalid, "not a JPEG or PNG image");
}

std::string ImageExtension(std::string_view content_type) {
  if (content_type == "image/jpeg") return "jpg";
  if (content_type == "image/png") return "png";
  return "";
}

}  // namespace portail::server
