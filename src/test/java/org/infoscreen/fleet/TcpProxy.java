package org.infoscreen.fleet;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP forwarder for fault injection in tests: {@link #cut()} closes the listening socket and
 * every open connection (the peer looks unreachable: connections are refused), {@link #restore()}
 * listens on the same port again; {@link #mode(Mode)} makes it drop or hang new connections
 * after accepting them (a broker that is reachable but never answers). Used where the test must not stop a shared service (the
 * machine's PostgreSQL) to make it unreachable for the service under test.
 */
final class TcpProxy implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final int port;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile ServerSocket server;
    private volatile Mode mode = Mode.FORWARD;
    private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

    /** What the proxy does with a connection it accepts. */
    enum Mode {
        /** forward both ways to the target */
        FORWARD,
        /** read the client's first bytes (its CONNECT), then close it without an answer (dropped before CONNACK) */
        CLOSE_AFTER_ACCEPT,
        /** keep it open but never forward or answer (half-open: no CONNACK ever) */
        HANG
    }

    /** Starts forwarding 127.0.0.1:{free port} to {@code targetHost:targetPort}. */
    TcpProxy(String targetHost, int targetPort) {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.port = TestServices.freePort();
        restore();
    }

    int port() {
        return port;
    }

    /** @param mode what to do with connections accepted from now on (open ones stay as they are) */
    void mode(Mode mode) {
        this.mode = mode;
    }

    /** @return connections accepted so far, in every mode */
    int accepted() {
        return accepted.get();
    }

    /** Closes every open connection (forwarded or hanging) but keeps listening. */
    void dropConnections() {
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    /** Listens again on the same port (idempotent). */
    synchronized void restore() {
        if (server != null) {
            return;
        }
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            server = s;
            Thread accept = new Thread(() -> acceptLoop(s), "tcp-proxy-" + port);
            accept.setDaemon(true);
            accept.start();
        } catch (IOException e) {
            throw new IllegalStateException("proxy cannot listen on " + port, e);
        }
    }

    /** Stops listening and closes every forwarded connection. */
    synchronized void cut() {
        ServerSocket s = server;
        server = null;
        closeQuietly(s);
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    private void acceptLoop(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket client = s.accept();
                accepted.incrementAndGet();
                Mode m = mode;
                if (m == Mode.CLOSE_AFTER_ACCEPT) {
                    closeAfterFirstBytes(client);
                    continue;
                }
                if (m == Mode.HANG) {
                    open.add(client);
                    continue;
                }
                Socket upstream = new Socket(targetHost, targetPort);
                open.add(client);
                open.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                // closed by cut(), or the target refused: the client sees its connection closed
            }
        }
    }

    private static void closeAfterFirstBytes(Socket client) {
        Thread t = new Thread(() -> {
            try {
                client.setSoTimeout(5_000);
                client.getInputStream().read(new byte[1024]);
            } catch (IOException e) {
                // nothing sent, or closed by the client
            } finally {
                closeQuietly(client);
            }
        }, "tcp-proxy-drop");
        t.setDaemon(true);
        t.start();
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
            }
        }, "tcp-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    @Override
    public void close() {
        cut();
    }
}
