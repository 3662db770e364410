package dev.batchgateway.service.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Addresses and CIDR ranges, IPv4 or IPv6, from a comma-separated list of literals ({@code
 * 10.0.0.0/8, 192.168.1.7, fd00::/8}). Names are refused: a proxy is trusted by its address, never
 * by what a DNS answer says.
 */
public final class AddressRanges {
  private static final Pattern LITERAL = Pattern.compile("[0-9A-Fa-f:.]+");

  private record Range(byte[] network, int prefixBits) {
    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefixBits / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefixBits % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[full] & mask) == (network[full] & mask);
    }
  }

  private final List<Range> ranges;

  private AddressRanges(List<Range> ranges) {
    this.ranges = List.copyOf(ranges);
  }

  public static AddressRanges parse(String spec) {
    List<Range> ranges = new ArrayList<>();
    for (String item : spec.split(",")) {
      String trimmed = item.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      int slash = trimmed.indexOf('/');
      String address = slash < 0 ? trimmed : trimmed.substring(0, slash);
      byte[] bytes = literal(address);
      int bits = bytes.length * 8;
      if (slash >= 0) {
        try {
          bits = Integer.parseInt(trimmed.substring(slash + 1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("'" + trimmed + "' has no valid prefix length");
        }
        if (bits < 0 || bits > bytes.length * 8) {
          throw new IllegalArgumentException("'" + trimmed + "' has no valid prefix length");
        }
      }
      ranges.add(new Range(bytes, bits));
    }
    return new AddressRanges(ranges);
  }

  public boolean isEmpty() {
    return ranges.isEmpty();
  }

  /** Whether {@code address} (a literal, as a servlet's remote address) is in a range. */
  public boolean contains(String address) {
    if (address == null) {
      return false;
    }
    byte[] bytes;
    try {
      bytes =
          literal(address.startsWith("[") ? address.substring(1, address.length() - 1) : address);
    } catch (IllegalArgumentException notAnAddress) {
      return false;
    }
    for (Range range : ranges) {
      if (range.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  private static byte[] literal(String address) {
    if (!LITERAL.matcher(address).matches()) {
      throw new IllegalArgumentException("'" + address + "' is not an IP address");
    }
    try {
      // A literal never causes a lookup.
      return InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + address + "' is not an IP address");
    }
  }
}
