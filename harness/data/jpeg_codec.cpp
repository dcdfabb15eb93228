// JPEG through libjpeg-turbo, with the decoder settings PIL and OpenCV use (islow IDCT, fancy upsampling: the
// library defaults). Errors longjmp out of libjpeg into a DataError naming the file; a file that ends early is an
// error (PIL refuses it; cv2 would return grey rows silently).
#include "harness/common/files.h"
#include "harness/data/codecs.h"

#include <cerrno>
#include <csetjmp>
#include <cstring>

// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>

namespace locbench::data::codec {

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
  bool refused;  // a limit (pixels, scans) refused the file: the message says which
  int max_scans;
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  cinfo->err->num_warnings++;
  // Other warnings (extraneous bytes, corrupt segments) are decoded through, as PIL and OpenCV do.
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  const int scan = reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number;
  if (scan > err->max_scans) {
    std::snprintf(err->message, sizeof(err->message), "progressive JPEG with more than %d scans (max_jpeg_scans)",
                  err->max_scans);
    err->refused = true;
    std::longjmp(err->jump, 1);
  }
}

// Everything between setjmp and the last libjpeg call holds only trivially destructible locals: a longjmp skips no
// destructor. Returns false with err.message set.
bool decode(FILE* f, const DecodeLimits& limits, bool header_only, ErrorManager& err, ImageHeader& header,
            JpegImage& out) {
  jpeg_decompress_struct cinfo;
  jpeg_progress_mgr progress;
  std::memset(&cinfo, 0, sizeof(cinfo));
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  progress.progress_monitor = on_progress;
  cinfo.progress = &progress;
  jpeg_stdio_src(&cinfo, f);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  header.format = "jpeg";
  header.width = static_cast<int>(cinfo.image_width);
  header.height = static_cast<int>(cinfo.image_height);
  header.channels = cinfo.num_components;
  header.bit_depth = cinfo.data_precision;
  if (header_only) {
    jpeg_destroy_decompress(&cinfo);
    return true;
  }
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > limits.max_pixels) {
    std::snprintf(err.message, sizeof(err.message),
                  "image is %ux%u = %lld pixels, above the limit of %lld (max_pixels)", cinfo.image_width,
                  cinfo.image_height,
                  static_cast<long long>(static_cast<int64_t>(cinfo.image_width) * cinfo.image_height),
                  static_cast<long long>(limits.max_pixels));
    err.refused = true;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
      std::snprintf(err.message, sizeof(err.message), "JPEG with %d colour components is not supported",
                    cinfo.num_components);
      jpeg_destroy_decompress(&cinfo);
      return false;
  }
  // Coefficient buffers of a progressive file take 2 bytes per sample and component: bounded by the pixel limit.
  cinfo.mem->max_memory_to_use = static_cast<long>(limits.max_pixels) * 8 + (64L << 20);
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      out.exif.assign(m->data + 6, m->data + m->data_length);
      break;
    }
  }
  out.adobe = cinfo.saw_Adobe_marker;
  jpeg_start_decompress(&cinfo);
  Image& img = out.image;
  img.width = static_cast<int>(cinfo.output_width);
  img.height = static_cast<int>(cinfo.output_height);
  img.channels = cinfo.output_components;
  img.pixels.resize(static_cast<size_t>(img.width) * img.height * img.channels);
  const size_t stride = static_cast<size_t>(img.width) * img.channels;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = img.pixels.data() + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

bool encode(FILE* f, const Image& image, int quality, ErrorManager& err) {
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof(cinfo));
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = static_cast<size_t>(image.width) * image.channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + cinfo.next_scanline * stride;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

ImageHeader jpeg_header(FILE* f, const std::string& path) {
  ErrorManager err{};
  err.max_scans = 1 << 30;
  ImageHeader header;
  JpegImage unused;
  if (!decode(f, DecodeLimits{}, true, err, header, unused))
    throw DataError(path + ": cannot read JPEG header (" + err.message + ")");
  return header;
}

JpegImage decode_jpeg(FILE* f, const std::string& path, const DecodeLimits& limits) {
  ErrorManager err{};
  err.max_scans = limits.max_jpeg_scans;
  ImageHeader header;
  JpegImage out;
  if (!decode(f, limits, false, err, header, out)) {
    if (err.refused) throw DataError(path + ": " + err.message);
    throw DataError(path + ": cannot decode JPEG (" + err.message + ")");
  }
  if (err.truncated) throw DataError(path + ": JPEG file is truncated (premature end of data)");
  return out;
}

void encode_jpeg(FILE* f, const std::string& path, const Image& image, int quality) {
  if (image.channels != 1 && image.channels != 3)
    throw DataError(path + ": JPEG needs 1 or 3 channels, the image has " + std::to_string(image.channels));
  ErrorManager err{};
  if (!encode(f, image, quality, err)) {
    // A failed fwrite (a full disk, ulimit -f) says why in errno; an encoder error in its own message.
    if (std::ferror(f)) throw WriteError(path + ": cannot write: " + std::strerror(errno));
    throw WriteError(path + ": cannot write JPEG (" + err.message + ")");
  }
}

}  // namespace locbench::data::codec
