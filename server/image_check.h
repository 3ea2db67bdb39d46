// Recognises uploaded images (JPEG, PNG) from their bytes and reads their pixel size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/error.h"

namespace portail::server {

// What an accepted image is: its media type ("image/jpeg" or "image/png") and size in pixels.
struct ImageInfo {
  std::string content_type;
  uint32_t width;
  uint32_t height;
};

// The largest width or height, in pixels, that SniffImage accepts.
inline constexpr uint32_t kMaxImageSide = 20000;

// Recognises a JPEG or PNG image from its bytes alone (never trusting a name or a declared type)
// and reads its size, without decoding pixels. Errors: kPayloadTooLarge when `bytes` is longer
// than `max_bytes`; kInvalid for anything else that is not a complete-looking JPEG or PNG with a
// size of 1 to kMaxImageSide pixels each way.
[[nodiscard]] Result<ImageInfo> SniffImage(std::string_view bytes, size_t max_bytes);

// The file extension for an image media type: "jpg" for "image/jpeg", "png" for "image/png", and
// an empty string for any other type.
[[nodiscard]] std::string ImageExtension(std::string_view content_type);

}  // namespace portail::server
