package io.twinhub.ops.bench;

import akka.util.ByteString;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A lean HTTPS/1.1 client for the load loops ({@code --http-client plain}): keep-alive TLS
 * connections ({@link SSLSocket}, the server's certificate and host name verified against the
 * hub's CA), one blocking request/answer at a time on each, on a pool of {@code concurrency}
 * threads. It sends what {@link RestClient}'s Akka HTTP pool sends (method, path, {@code Host},
 * the SAS {@code Authorization}, a JSON body with its length) and reads the whole answer (status,
 * headers, a {@code Content-Length} or chunked body), but without Akka's per-request streams,
 * pool actor messages and TLS stage: on 2 cores the Akka client cost more CPU per query than the
 * query node answering it (docs/BENCHMARKS.md, "session 14").
 */
final class PlainHttpsClient implements AutoCloseable {

  private final SSLContext tls;
  private final List<URI> urls;
  private final List<ConcurrentLinkedDeque<Connection>> idle = new ArrayList<>();
  private final List<Connection> all = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final byte[][] headPrefixes; // per node: nothing; the Host and Authorization lines are per node
  private final ExecutorService workers;

  PlainHttpsClient(List<URI> urls, SSLContext tls, String authorization, int concurrency) {
    this.urls = List.copyOf(urls);
    this.tls = tls;
    this.headPrefixes = new byte[urls.size()][];
    for (int i = 0; i < urls.size(); i++) {
      idle.add(new ConcurrentLinkedDeque<>());
      URI u = urls.get(i);
      headPrefixes[i] = ("Host: " + u.getHost() + ":" + port(u) + "\r\nAuthorization: " + authorization
          + "\r\nUser-Agent: twinhub-bench\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(Math.max(concurrency, 1), r -> {
      Thread t = new Thread(r, "bench-https-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  static int port(URI u) {
    return u.getPort() > 0 ? u.getPort() : 443;
  }

  CompletionStage<RestClient.Answer> send(int node, String method, String pathAndQuery, String jsonBody) {
    int i = Math.floorMod(node, urls.size());
    byte[] request = request(method, pathAndQuery, headPrefixes[i], jsonBody);
    return CompletableFuture.supplyAsync(() -> {
      try {
        return exchange(i, request);
      } catch (IOException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, workers);
  }

  /** The request's bytes: request line, the node's fixed headers, the body's headers and the body. */
  static byte[] request(String method, String pathAndQuery, byte[] fixedHeaders, String jsonBody) {
    byte[] body = jsonBody == null ? null : jsonBody.getBytes(StandardCharsets.UTF_8);
    String line = method + " " + pathAndQuery + " HTTP/1.1\r\n";
    String bodyHeaders = body == null ? "\r\n"
        : "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream(line.length() + fixedHeaders.length + bodyHeaders.length() + (body == null ? 0 : body.length));
    out.writeBytes(line.getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(fixedHeaders);
    out.writeBytes(bodyHeaders.getBytes(StandardCharsets.ISO_8859_1));
    if (body != null) out.writeBytes(body);
    return out.toByteArray();
  }

  private RestClient.Answer exchange(int node, byte[] request) throws IOException {
    Connection c = idle.get(node).pollFirst();
    if (c == null) return exchangeOn(node, open(node), request);
    try {
      return exchangeOn(node, c, request);
    } catch (StaleConnection e) {
      // The server closed an idle keep-alive connection before it read this request: once on a new one.
      return exchangeOn(node, open(node), request);
    }
  }

  /** One request on {@code c}: back to the idle pool if the answer keeps it alive, closed otherwise and on any failure. */
  private RestClient.Answer exchangeOn(int node, Connection c, byte[] request) throws IOException {
    try {
      Response r = c.exchange(request);
      if (r.keepAlive()) idle.get(node).addFirst(c);
      else c.close();
      return new RestClient.Answer(r.status(), ByteString.fromArrayUnsafe(r.body()));
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private Connection open(int node) throws IOException {
    URI u = urls.get(node);
    SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
    try {
      s.setTcpNoDelay(true);
      SSLParameters p = s.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS"); // as Akka HTTP's client: the certificate must name the host
      s.setSSLParameters(p);
      s.connect(new InetSocketAddress(u.getHost(), port(u)), 10_000);
      s.setSoTimeout(60_000);
      s.startHandshake();
    } catch (IOException e) {
      s.close();
      throw e;
    }
    Connection c = new Connection(s);
    all.add(c);
    return c;
  }

  /** A request's answer was never started: the connection was closed before (a stale keep-alive one). */
  static final class StaleConnection extends EOFException {
    StaleConnection(String m) {
      super(m);
    }
  }

  record Response(int status, byte[] body, boolean keepAlive) {}

  private final class Connection {
    private final SSLSocket socket;
    private final OutputStream out;
    private final InputStream in;

    Connection(SSLSocket socket) throws IOException {
      this.socket = socket;
      this.out = socket.getOutputStream();
      this.in = new Buffered(socket.getInputStream(), 16 * 1024);
    }

    Response exchange(byte[] request) throws IOException {
      try {
        out.write(request);
        out.flush();
      } catch (IOException e) {
        throw (StaleConnection) new StaleConnection("request not sent: " + e).initCause(e);
      }
      return readResponse(in);
    }

    void close() {
      all.remove(this);
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  /**
   * Reads one HTTP/1.1 answer: the status line, the headers, and a body by {@code Content-Length},
   * chunked, or (no length, {@code Connection: close}) up to the end of the stream.
   */
  static Response readResponse(InputStream in) throws IOException {
    String statusLine = line(in, true);
    if (!statusLine.startsWith("HTTP/1.")) throw new IOException("not an HTTP/1.x status line: " + statusLine);
    int sp = statusLine.indexOf(' ');
    int status = Integer.parseInt(statusLine.substring(sp + 1, sp + 4));
    boolean keepAlive = !statusLine.startsWith("HTTP/1.0");
    long length = -1;
    boolean chunked = false;
    for (String h = line(in, false); !h.isEmpty(); h = line(in, false)) {
      int colon = h.indexOf(':');
      if (colon <= 0) continue;
      String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = h.substring(colon + 1).trim();
      switch (name) {
        case "content-length" -> length = Long.parseLong(value);
        case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
        case "connection" -> {
          String v = value.toLowerCase(Locale.ROOT);
          if (v.contains("close")) keepAlive = false;
          else if (v.contains("keep-alive")) keepAlive = true;
        }
        default -> { }
      }
    }
    byte[] body;
    if (status / 100 == 1 || status == 204 || status == 304) {
      body = new byte[0];
    } else if (chunked) {
      body = chunkedBody(in);
    } else if (length >= 0) {
      body = in.readNBytes((int) length);
      if (body.length != length) throw new EOFException("answer cut after " + body.length + " of " + length + " bytes");
    } else {
      body = in.readAllBytes();
      keepAlive = false;
    }
    return new Response(status, body, keepAlive);
  }

  private static byte[] chunkedBody(InputStream in) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = line(in, false);
      int semi = size.indexOf(';');
      int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
      if (n == 0) {
        while (!line(in, false).isEmpty()) { } // trailers
        return body.toByteArray();
      }
      byte[] chunk = in.readNBytes(n);
      if (chunk.length != n) throw new EOFException("chunk cut after " + chunk.length + " of " + n + " bytes");
      body.writeBytes(chunk);
      if (!line(in, false).isEmpty()) throw new IOException("no CRLF after a chunk");
    }
  }

  /** A line up to CRLF (or LF), without it; at the end of the stream before any byte of the status line: stale. */
  private static String line(InputStream in, boolean first) throws IOException {
    StringBuilder sb = new StringBuilder(64);
    while (true) {
      int b = in.read();
      if (b < 0) {
        if (first && sb.length() == 0) throw new StaleConnection("closed before the answer");
        throw new EOFException("answer cut in a line");
      }
      if (b == '\n') {
        int len = sb.length();
        if (len > 0 && sb.charAt(len - 1) == '\r') sb.setLength(len - 1);
        return sb.toString();
      }
      sb.append((char) b);
    }
  }

  /**
   * An unsynchronized buffer over the socket's stream: the answer is read byte by byte up to its
   * body, and {@link java.io.BufferedInputStream} takes a lock for every byte.
   */
  static final class Buffered extends InputStream {
    private final InputStream in;
    private final byte[] buf;
    private int pos;
    private int limit;

    Buffered(InputStream in, int size) {
      this.in = in;
      this.buf = new byte[size];
    }

    @Override
    public int read() throws IOException {
      if (pos == limit && !fill()) return -1;
      return buf[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) return 0;
      if (pos == limit) {
        if (len >= buf.length) return in.read(b, off, len);
        if (!fill()) return -1;
      }
      int n = Math.min(len, limit - pos);
      System.arraycopy(buf, pos, b, off, n);
      pos += n;
      return n;
    }

    private boolean fill() throws IOException {
      int n = in.read(buf, 0, buf.length);
      if (n <= 0) return false;
      pos = 0;
      limit = n;
      return true;
    }

    @Override
    public int available() {
      return limit - pos;
    }
  }

  @Override
  public void close() {
    workers.shutdownNow();
    for (Connection c : List.copyOf(all)) c.close();
  }
}
