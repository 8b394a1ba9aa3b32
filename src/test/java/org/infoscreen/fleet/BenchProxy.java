package org.infoscreen.fleet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP forwarder in front of the benchmark's broker that recognises MQTT clients by the client
 * id in their CONNECT packet. {@link #gate()} closes every forwarded connection and stops
 * listening, so the clients behind it find the broker unreachable (connection refused, as when
 * the broker is down) while their persistent sessions queue on the broker; {@link #open()} listens
 * on the same port again and {@link #connectedAtNanos(String)} says when the first CONNECT of a
 * watched client went through afterwards ({@link System#nanoTime()}): where the drain of the
 * service's ingest starts. Hand-written because {@link TcpProxy} cannot tell clients apart.
 */
final class BenchProxy implements AutoCloseable {

    /** Key of {@link #connectedAtNanos(String)} for the first connection of any client. */
    static final String ANY = "*";

    private record Link(String clientId, Socket client, Socket upstream) {
    }

    private final String targetHost;
    private final int targetPort;
    private final int port;
    private volatile ServerSocket server;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private final Set<String> watched = ConcurrentHashMap.newKeySet();
    private final Map<String, Long> connectedAt = new ConcurrentHashMap<>();

    /**
     * Listens on a free loopback port and forwards to {@code targetHost:targetPort}.
     *
     * @param watchedClientIds client ids to recognise (gate and connection times)
     */
    BenchProxy(String targetHost, int targetPort, String... watchedClientIds) {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.watched.addAll(List.of(watchedClientIds));
        this.port = TestServices.freePort();
        open();
    }

    /** @return {@code tcp://127.0.0.1:<port>} of the proxy */
    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    /** Stops listening and closes every forwarded connection: the clients see connection refused. */
    synchronized void gate() {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            closeQuietly(s);
        }
        for (Link l : links) {
            closeQuietly(l.client());
            closeQuietly(l.upstream());
        }
        links.clear();
    }

    /** Listens again on the same port (idempotent) and forgets the recorded connection times. */
    synchronized void open() {
        connectedAt.clear();
        if (server != null) {
            return;
        }
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            server = s;
            Thread accept = new Thread(() -> acceptLoop(s), "bench-proxy-accept");
            accept.setDaemon(true);
            accept.start();
        } catch (IOException e) {
            throw new IllegalStateException("proxy cannot listen on " + port, e);
        }
    }

    /**
     * @return nanoTime of the first forwarded CONNECT of {@code clientId} (or of any client, {@link #ANY})
     *         since {@link #open()}, or null
     */
    Long connectedAtNanos(String clientId) {
        return connectedAt.get(clientId);
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket client = s.accept();
                client.setTcpNoDelay(true);
                Thread t = new Thread(() -> handshake(client), "bench-proxy-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                // closed
            }
        }
    }

    private void handshake(Socket client) {
        try {
            InputStream in = client.getInputStream();
            byte[] buf = new byte[8192];
            int n = in.read(buf);
            if (n <= 0) {
                closeQuietly(client);
                return;
            }
            String id = clientIdIn(Arrays.copyOf(buf, n));
            Socket upstream = new Socket(targetHost, targetPort);
            upstream.setTcpNoDelay(true);
            long now = System.nanoTime();
            if (id != null) {
                connectedAt.putIfAbsent(id, now);
            }
            connectedAt.putIfAbsent(ANY, now);
            links.add(new Link(id, client, upstream));
            upstream.getOutputStream().write(buf, 0, n);
            pump(upstream, client);
            pump(client, upstream);
        } catch (IOException e) {
            closeQuietly(client);
        }
    }

    /** The watched client id whose length-prefixed UTF-8 string occurs in the first packet, or null. */
    private String clientIdIn(byte[] packet) {
        for (String id : watched) {
            byte[] s = id.getBytes(StandardCharsets.UTF_8);
            byte[] prefixed = new byte[s.length + 2];
            prefixed[0] = (byte) (s.length >> 8);
            prefixed[1] = (byte) s.length;
            System.arraycopy(s, 0, prefixed, 2, s.length);
            if (indexOf(packet, prefixed) >= 0) {
                return id;
            }
        }
        return null;
    }

    private static int indexOf(byte[] data, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= data.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException e) {
                // connection closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                links.removeIf(l -> l.client() == from || l.client() == to);
            }
        }, "bench-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        gate();
    }
}
