// The one entry point Vitrine calls in libwebp, compiled with it to
// WebAssembly (build.sh): opaque RGBA pixels in, a lossy WebP out.
#include <stdint.h>
#include <stdlib.h>

#include "webp/encode.h"

// encode reads width*height RGBA pixels at in (alpha ignored: the
// mirror's pictures are opaque) and frees them as soon as they are
// converted, so the pixels and the encoder's state are not held at once.
// It returns the WebP, allocated with malloc, and writes its length to
// *size; 0 on failure. The caller frees the result.
__attribute__((export_name("encode")))
uint8_t *encode(uint8_t *in, int width, int height, size_t *size, int quality, int method) {
  WebPConfig config;
  WebPPicture picture;
  WebPMemoryWriter writer;
  *size = 0;
  if (!WebPConfigInit(&config) || !WebPPictureInit(&picture)) {
    free(in);
    return 0;
  }
  config.quality = (float)quality;
  config.method = method;
  if (!WebPValidateConfig(&config)) {
    free(in);
    return 0;
  }
  picture.width = width;
  picture.height = height;
  int imported = WebPPictureImportRGBX(&picture, in, width * 4);
  free(in);
  if (!imported) {
    WebPPictureFree(&picture);
    return 0;
  }
  WebPMemoryWriterInit(&writer);
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &writer;
  int ok = WebPEncode(&config, &picture);
  WebPPictureFree(&picture);
  if (!ok) {
    WebPMemoryWriterClear(&writer);
    return 0;
  }
  *size = writer.size;
  return writer.mem;
}

// The host allocates the pixels in the module's memory, and frees the
// result once it has copied it out.
__attribute__((export_name("malloc")))
void *wasm_malloc(size_t n) { return malloc(n); }

__attribute__((export_name("free")))
void wasm_free(void *p) { free(p); }
