// Tests of the image sniffer over hand-built PNG and JPEG bytes.
#include "server/image_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace portail::server {
namespace {

using ::testing::HasSubstr;

constexpr size_t kMaxBytes = 1 << 20;

void AppendBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

void AppendBytes(std::string* out, std::initializer_list<int> bytes) {
  for (int b : bytes) out->push_back(static_cast<char>(b));
}

uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t Adler32(std::string_view data) {
  uint32_t a = 1;
  uint32_t b = 0;
  for (char c : data) {
    a = (a + static_cast<uint8_t>(c)) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// A PNG chunk: length, type, data and the CRC of type and data.
std::string PngChunk(std::string_view type, std::string_view data) {
  std::string chunk;
  AppendBigEndian32(&chunk, static_cast<uint32_t>(data.size()));
  std::string typed(type);
  typed += data;
  chunk += typed;
  AppendBigEndian32(&chunk, Crc32(typed));
  return chunk;
}

std::string PngHeader(uint32_t width, uint32_t height) {
  std::string ihdr;
  AppendBigEndian32(&ihdr, width);
  AppendBigEndian32(&ihdr, height);
  AppendBytes(&ihdr, {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, adaptive filter, no interlace
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr);
}

// A complete RGB PNG of `width` x `height` black pixels, its pixels in a stored (uncompressed)
// deflate block.
std::string Png(uint32_t width, uint32_t height) {
  const std::string raw(static_cast<size_t>(height) * (1 + 3 * size_t{width}), '\0');
  std::string zlib;
  AppendBytes(&zlib, {0x78, 0x01, 0x01});  // zlib header, final stored block
  const auto len = static_cast<uint16_t>(raw.size());
  AppendBytes(&zlib, {len & 0xFF, len >> 8, ~len & 0xFF, (~len >> 8) & 0xFF});
  zlib += raw;
  AppendBigEndian32(&zlib, Adler32(raw));
  return PngHeader(width, height) + PngChunk("IDAT", zlib) + PngChunk("IEND", "");
}

// SOF0 (baseline) with three components; `sof_marker` may name another frame type.
std::string JpegFrameHeader(uint16_t width, uint16_t height, int sof_marker = 0xC0) {
  std::string sof;
  AppendBytes(&sof, {0xFF, sof_marker, 0x00, 0x11, 0x08, height >> 8, height & 0xFF, width >> 8,
                     width & 0xFF, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01});
  return sof;
}

std::string JpegStart() {
  std::string jpeg;
  AppendBytes(&jpeg, {0xFF, 0xD8});                                      // SOI
  AppendBytes(&jpeg, {0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00,  // APP0 (JFIF)
                      0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00});
  AppendBytes(&jpeg, {0xFF, 0xDB, 0x00, 0x43, 0x00});  // DQT: one table of 64 ones
  jpeg += std::string(64, '\x01');
  return jpeg;
}

std::string JpegScanAndEnd() {
  std::string tail;
  AppendBytes(&tail, {0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F,
                      0x00});                                // SOS
  AppendBytes(&tail, {0xF8, 0xFF, 0x00, 0xA2, 0x8A, 0x00});  // entropy-coded data, FF stuffed
  AppendBytes(&tail, {0xFF, 0xD9});                          // EOI
  return tail;
}

std::string Jpeg(uint16_t width, uint16_t height, int sof_marker = 0xC0) {
  return JpegStart() + JpegFrameHeader(width, height, sof_marker) + JpegScanAndEnd();
}

TEST(ImageCheck, PngIsAcceptedWithItsTypeAndSize) {
  const Result<ImageInfo> info = SniffImage(Png(3, 2), kMaxBytes);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->content_type, "image/png");
  EXPECT_EQ(info->width, 3u);
  EXPECT_EQ(info->height, 2u);
}

TEST(ImageCheck, JpegIsAcceptedWithItsTypeAndSize) {
  const Result<ImageInfo> info = SniffImage(Jpeg(640, 480), kMaxBytes);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->content_type, "image/jpeg");
  EXPECT_EQ(info->width, 640u);
  EXPECT_EQ(info->height, 480u);
}

TEST(ImageCheck, ProgressiveJpegIsAccepted) {
  const Result<ImageInfo> info = SniffImage(Jpeg(1024, 768, 0xC2), kMaxBytes);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->width, 1024u);
  EXPECT_EQ(info->height, 768u);
}

TEST(ImageCheck, JpegFillBytesAndStandaloneMarkersAreSkipped) {
  std::string jpeg = JpegStart();
  AppendBytes(&jpeg, {0xFF, 0xFF, 0xFF, 0xD0, 0xFF, 0x01});  // fill bytes, RST0, TEM
  AppendBytes(&jpeg, {0xFF, 0xC4, 0x00, 0x04, 0xC0, 0xC0});  // a DHT whose body looks like SOF0
  jpeg += JpegFrameHeader(20, 10) + JpegScanAndEnd();
  const Result<ImageInfo> info = SniffImage(jpeg, kMaxBytes);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info->width, 20u);
  EXPECT_EQ(info->height, 10u);
}

TEST(ImageCheck, TextFileNamedJpgIsRejected) {
  const Result<ImageInfo> info = SniffImage("Dear school,\nplease find attached...\n", kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(info.error().message, "not a JPEG or PNG image");
}

TEST(ImageCheck, EmptyUploadIsRejected) {
  const Result<ImageInfo> info = SniffImage("", kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
}

TEST(ImageCheck, GifIsRejected) {
  std::string gif = "GIF89a";
  AppendBytes(&gif, {0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
                     0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
                     0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B});
  const Result<ImageInfo> info = SniffImage(gif, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(info.error().message, "not a JPEG or PNG image");
}

TEST(ImageCheck, JpegCutInsideTheFrameHeaderIsTruncated) {
  const std::string jpeg = JpegStart() + JpegFrameHeader(640, 480).substr(0, 9);
  const Result<ImageInfo> info = SniffImage(jpeg, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
  EXPECT_THAT(info.error().message, HasSubstr("truncated"));
}

TEST(ImageCheck, JpegCutBetweenSegmentsOrInsideALengthIsTruncated) {
  for (size_t cut : {2, 3, 4, 5, 20, 21}) {
    const Result<ImageInfo> info = SniffImage(Jpeg(640, 480).substr(0, cut), kMaxBytes);
    ASSERT_FALSE(info.has_value()) << cut;
    EXPECT_THAT(info.error().message, HasSubstr("truncated")) << cut;
  }
}

TEST(ImageCheck, JpegSegmentLengthBeyondTheEndIsTruncated) {
  std::string jpeg;
  AppendBytes(&jpeg, {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0, 'E', 'x', 'i', 'f'});
  const Result<ImageInfo> info = SniffImage(jpeg, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("truncated"));
}

TEST(ImageCheck, JpegWithoutFrameHeaderHasNoSize) {
  const Result<ImageInfo> info = SniffImage(JpegStart() + JpegScanAndEnd(), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message, "the image has no size");
}

TEST(ImageCheck, JpegOfZeroHeightHasNoSize) {
  const Result<ImageInfo> info = SniffImage(Jpeg(640, 0), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().message, "the image has no size");
}

TEST(ImageCheck, JpegWiderThanTheLimitIsRejected) {
  const Result<ImageInfo> info = SniffImage(Jpeg(20001, 10), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("20000"));
  EXPECT_TRUE(SniffImage(Jpeg(20000, 20000), kMaxBytes).has_value());
}

TEST(ImageCheck, JpegWithGarbageBetweenSegmentsIsRejected) {
  std::string jpeg = JpegStart();
  jpeg += "junk";
  jpeg += JpegFrameHeader(640, 480) + JpegScanAndEnd();
  const Result<ImageInfo> info = SniffImage(jpeg, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
}

TEST(ImageCheck, JpegSegmentLengthShorterThanItselfIsRejected) {
  std::string jpeg;
  AppendBytes(&jpeg, {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xD9});
  const Result<ImageInfo> info = SniffImage(jpeg, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
}

TEST(ImageCheck, PngWithZeroWidthHasNoSize) {
  const Result<ImageInfo> info = SniffImage(Png(0, 2), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(info.error().message, "the image has no size");
}

TEST(ImageCheck, PngTallerThanTheLimitIsRejected) {
  const std::string png = PngHeader(1, 20001) + PngChunk("IEND", "");
  const Result<ImageInfo> info = SniffImage(png, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("20000"));
}

TEST(ImageCheck, PngWithoutIendIsTruncated) {
  const std::string png = Png(3, 2);
  const Result<ImageInfo> info = SniffImage(png.substr(0, png.size() - 12), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("truncated"));
}

TEST(ImageCheck, PngCutInsideTheHeaderIsTruncated) {
  const Result<ImageInfo> info = SniffImage(Png(3, 2).substr(0, 20), kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_THAT(info.error().message, HasSubstr("truncated"));
}

TEST(ImageCheck, PngWhoseFirstChunkIsNotTheHeaderIsRejected) {
  const std::string png = Png(3, 2);
  const std::string without_header = png.substr(0, 8) + png.substr(8 + 25);  // IDAT first
  const Result<ImageInfo> info = SniffImage(without_header, kMaxBytes);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalid);
}

TEST(ImageCheck, UploadOverTheByteLimitIsPayloadTooLarge) {
  const std::string png = Png(3, 2);
  const Result<ImageInfo> info = SniffImage(png, png.size() - 1);
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(SniffImage(png, png.size()).has_value());
  EXPECT_EQ(SniffImage("not even an image", 4).error().code, ErrorCode::kPayloadTooLarge);
}

TEST(ImageCheck, ExtensionFollowsTheContentType) {
  EXPECT_EQ(ImageExtension("image/jpeg"), "jpg");
  EXPECT_EQ(ImageExtension("image/png"), "png");
  EXPECT_EQ(ImageExtension("image/gif"), "");
}

}  // namespace
}  // namespace portail::server
