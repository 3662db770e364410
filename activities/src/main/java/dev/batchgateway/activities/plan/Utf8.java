package dev.batchgateway.activities.plan;

/**
 * Strict UTF-8 (RFC 3629), which Jackson's parser is not: it decodes overlong forms ({@code C0 AF}
 * as '/'), UTF-16 surrogates and values past U+10FFFF, so a line with such bytes would pass with a
 * custom_id or body other than the bytes say.
 */
final class Utf8 {
  private Utf8() {}

  /** The offset of the first byte that does not belong to well-formed UTF-8, or -1. */
  static int firstInvalid(byte[] bytes, int offset, int length) {
    int end = offset + length;
    int i = offset;
    while (i < end) {
      int b = bytes[i];
      if (b >= 0) {
        i++;
        continue;
      }
      b &= 0xff;
      int need;
      int min;
      int max;
      if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        min = 0x80;
        max = 0xBF;
      } else if (b == 0xE0) {
        need = 2;
        min = 0xA0;
        max = 0xBF;
      } else if (b == 0xED) {
        // Past ED 9F would be a UTF-16 surrogate.
        need = 2;
        min = 0x80;
        max = 0x9F;
      } else if (b >= 0xE1 && b <= 0xEF) {
        need = 2;
        min = 0x80;
        max = 0xBF;
      } else if (b == 0xF0) {
        need = 3;
        min = 0x90;
        max = 0xBF;
      } else if (b >= 0xF1 && b <= 0xF3) {
        need = 3;
        min = 0x80;
        max = 0xBF;
      } else if (b == 0xF4) {
        need = 3;
        min = 0x80;
        max = 0x8F;
      } else {
        return i;
      }
      if (i + need >= end) {
        return i;
      }
      int second = bytes[i + 1] & 0xff;
      if (second < min || second > max) {
        return i;
      }
      for (int k = 2; k <= need; k++) {
        int next = bytes[i + k] & 0xff;
        if (next < 0x80 || next > 0xBF) {
          return i;
        }
      }
      i += need + 1;
    }
    return -1;
  }
}
