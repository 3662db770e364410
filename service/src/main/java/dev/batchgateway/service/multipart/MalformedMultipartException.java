package dev.batchgateway.service.multipart;

import java.io.IOException;

/** The request body is not well-formed {@code multipart/form-data}. */
public class MalformedMultipartException extends IOException {
  public MalformedMultipartException(String message) {
    super(message);
  }
}
