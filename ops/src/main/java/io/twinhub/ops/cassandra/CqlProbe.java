package io.twinhub.ops.cassandra;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Checks that a CQL server answers on a port, with the smallest possible native-protocol
 * exchange: an OPTIONS request, which must be answered by SUPPORTED. An open TCP port alone is
 * not enough (the port could belong to something else), and a driver on the main classpath
 * would drag Netty and friends into every module that uses the launcher.
 */
final class CqlProbe {

    private static final byte PROTOCOL_V4 = 0x04;
    private static final byte RESPONSE_V4 = (byte) 0x84;
    private static final byte OPCODE_OPTIONS = 0x05;
    private static final byte OPCODE_SUPPORTED = 0x06;
    /** SUPPORTED is a few hundred bytes; anything absurd means this is not a CQL server. */
    private static final int MAX_BODY = 64 * 1024;

    private CqlProbe() {
    }

    /** True if address:port completed an OPTIONS/SUPPORTED exchange within timeoutMs. */
    static boolean answers(java.net.InetAddress address, int port, int timeoutMs) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), timeoutMs);
            socket.setSoTimeout(timeoutMs);
            OutputStream out = socket.getOutputStream();
            // v4 frame header: version, flags, stream id (2 bytes), opcode, body length (4 bytes).
            out.write(new byte[] {PROTOCOL_V4, 0, 0, 1, OPCODE_OPTIONS, 0, 0, 0, 0});
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] header = new byte[9];
            in.readFully(header);
            int length = ((header[5] & 0xff) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8) | (header[8] & 0xff);
            if (header[0] != RESPONSE_V4 || header[4] != OPCODE_SUPPORTED || length < 0 || length > MAX_BODY) {
                return false;
            }
            in.readFully(new byte[length]);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
