package org.infoscreen.fleet.power;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.http.Request;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;

/**
 * Base of the fake power devices: a WireMock server over real HTTP (or HTTPS with WireMock's own
 * self-signed certificate) whose every request is answered by {@link #answer(Request)}, with the
 * device's state (outlets on or off), a journal of the switches it carried out in order, and a
 * hook that runs when an outlet gets power again (the display boots). Subclasses reproduce one
 * device family's API, auth challenge and error shapes.
 */
public abstract class FakeDevice implements AutoCloseable {

    protected static final ObjectMapper JSON = new ObjectMapper();

    /** One switch the device carried out. */
    public record Switch(int outlet, boolean on, String how) {
    }

    private final WireMockServer server;
    private final boolean https;
    private final List<Switch> switches = new CopyOnWriteArrayList<>();
    private final List<Runnable> onPowerRestored = new CopyOnWriteArrayList<>();
    private final boolean[] outlets = new boolean[16];
    protected final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "fake-device-timer");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean stuck;
    private volatile long delayMillis;
    private volatile long switchAnswerDelayMillis;

    protected FakeDevice(boolean https) {
        this.https = https;
        java.util.Arrays.fill(outlets, true);
        WireMockConfiguration options = WireMockConfiguration.options().bindAddress("127.0.0.1")
                .extensions(new ResponseDefinitionTransformerV2() {
                    @Override
                    public ResponseDefinition transform(ServeEvent event) {
                        if (delayMillis > 0) {
                            return aResponse().withFixedDelay((int) delayMillis).withStatus(200).withBody("{}").build();
                        }
                        int before = switches().size();
                        ResponseDefinitionBuilder answer = answer(event.getRequest());
                        if (switchAnswerDelayMillis > 0 && switches().size() > before) {
                            answer.withFixedDelay((int) switchAnswerDelayMillis);
                        }
                        return answer.build();
                    }

                    @Override
                    public String getName() {
                        return "fake-device";
                    }
                });
        if (https) {
            options.httpDisabled(true).dynamicHttpsPort();
        } else {
            options.dynamicPort();
        }
        server = new WireMockServer(options);
        server.start();
        server.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200)));
    }

    /** @return {@code 127.0.0.1:<port>} as a power target's host */
    public String host() {
        return "127.0.0.1:" + (https ? server.httpsPort() : server.port());
    }

    /** @return the WireMock server, for its request journal */
    public WireMockServer server() {
        return server;
    }

    /** Answers a request the way the device does. */
    protected abstract ResponseDefinitionBuilder answer(Request request);

    // ---- state -----------------------------------------------------------------------------

    /** @return whether the outlet has power */
    public boolean isOn(int outlet) {
        synchronized (outlets) {
            return outlets[outlet];
        }
    }

    /** Switches an outlet (as the device itself does) and records it. */
    protected void set(int outlet, boolean on, String how) {
        boolean restored;
        synchronized (outlets) {
            if (stuck && !on) {
                switches.add(new Switch(outlet, false, how + " (ignored: relay stuck)"));
                return;
            }
            restored = on && !outlets[outlet];
            outlets[outlet] = on;
            switches.add(new Switch(outlet, on, how));
        }
        if (restored) {
            onPowerRestored.forEach(Runnable::run);
        }
    }

    /** Switches the outlet back after {@code seconds} (a timer of the device). */
    protected void setLater(int outlet, boolean on, double seconds, String how) {
        timers.schedule(() -> set(outlet, on, how), (long) (seconds * 1000), TimeUnit.MILLISECONDS);
    }

    /** @return the switches carried out, oldest first */
    public List<Switch> switches() {
        return new ArrayList<>(switches);
    }

    /** @return how many times the outlet was switched off */
    public long offs() {
        return switches.stream().filter(s -> !s.on() && !s.how().contains("ignored")).count();
    }

    /** Runs {@code hook} whenever an outlet gets power again. */
    public FakeDevice onPowerRestored(Runnable hook) {
        onPowerRestored.add(hook);
        return this;
    }

    /** A relay that does not switch off (welded contact): accepts off, stays on. */
    public FakeDevice stuckOn() {
        this.stuck = true;
        return this;
    }

    /**
     * Executes every switching request at once but answers it only after this delay (the answer
     * is lost: the service's HTTP timeout runs out although the outlet switched); queries answer at once.
     */
    public FakeDevice delaySwitchAnswers(long millis) {
        this.switchAnswerDelayMillis = millis;
        return this;
    }

    /** Answers every request only after this delay (a device that hangs). */
    public FakeDevice delayEveryAnswer(long millis) {
        this.delayMillis = millis;
        return this;
    }

    // ---- helpers for subclasses ------------------------------------------------------------

    protected static ResponseDefinitionBuilder json(int status, Object body) {
        try {
            return aResponse().withStatus(status).withHeader("Content-Type", "application/json")
                    .withBody(body instanceof String s ? s : JSON.writeValueAsString(body));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    protected static JsonNode body(Request request) {
        try {
            return JSON.readTree(request.getBodyAsString());
        } catch (java.io.IOException e) {
            return JSON.createObjectNode();
        }
    }

    /** @return whether the request carries {@code Authorization: Basic} with exactly this user and password */
    protected static boolean basicOk(Request request, String user, String password) {
        String h = request.getHeader("Authorization");
        if (h == null || !h.startsWith("Basic ")) {
            return false;
        }
        String pair = new String(Base64.getDecoder().decode(h.substring(6)), StandardCharsets.UTF_8);
        return pair.equals(user + ":" + password);
    }

    @Override
    public void close() {
        timers.shutdownNow();
        server.stop();
    }
}
