package org.infoscreen.fleet.power;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.http.base.HttpOperationFailedException;
import org.infoscreen.fleet.rest.ApiException;
import org.infoscreen.fleet.support.Redaction;
import org.infoscreen.fleet.support.Secrets;
import org.infoscreen.fleet.support.Text;
import org.postgresql.util.PGobject;

import javax.net.ssl.SSLException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The rules of the shared power route (bean {@code powerOperations}, used by
 * {@code routes/power.camel.yaml}): what one power-cycle job is, whether the display may still be
 * switched, which driver errors are worth a retry, and the event details. Pure functions of their
 * arguments apart from the secret lookup; the route does the switching, locking and bookkeeping.
 */
public class PowerOperations {

    private static final Set<String> STATES = Set.of("on", "off", "unknown");

    private final ObjectMapper mapper;
    private final PowerDrivers drivers;
    private final Secrets secrets;
    private final int offSeconds;
    private final long lockWaitMillis;

    /**
     * @param mapper     the service's JSON mapper
     * @param drivers    the driver catalogue
     * @param secrets    where {@code secret_ref} values come from
     * @param offSeconds how long an outlet stays off during a cycle, seconds
     * @param lockWaitS  how long a cycle waits for an outlet another operation holds, seconds
     */
    public PowerOperations(ObjectMapper mapper, PowerDrivers drivers, Secrets secrets, int offSeconds, int lockWaitS) {
        this.mapper = mapper;
        this.drivers = drivers;
        this.secrets = secrets;
        this.offSeconds = offSeconds;
        this.lockWaitMillis = lockWaitS * 1000L;
    }

    /**
     * @param row the claimed command with its power target ({@code power-claim.sql}): command_id,
     *            client_uuid, forced, driver, params, secret_ref, outlet_key, outlet_protected
     * @return the job: {@code commandId}, {@code clientUuid}, {@code driver}, {@code plan}
     *         ({@code native}, {@code off_on}, {@code on_only}), {@code canQuery}, {@code canOff},
     *         {@code endpointUri}, {@code params} (defaults filled in), {@code outletKey},
     *         {@code forced}, {@code secretRef}, {@code offSeconds}, {@code offMillis},
     *         {@code startedAt} (epoch ms)
     * @throws PowerFatalException no power target, an unusable driver, or a protected outlet
     */
    public Map<String, Object> job(Map<String, Object> row) {
        if (row.get("driver") == null) {
            throw new PowerFatalException("configuration: the client has no power target (deleted after the command was created?)");
        }
        return build(row, true);
    }

    /**
     * The job of the resume sweep: switch on the outlet of a power cycle that a service crash
     * interrupted. Like {@link #job(Map)}, but a protected outlet is switched on too (on is always
     * safe; it was protected after the cycle began).
     *
     * @param row {@code power-resume-take.sql}: command_id, client_uuid, forced, driver, params,
     *            secret_ref, outlet_key
     * @return the job, as {@link #job(Map)}
     * @throws PowerFatalException when no power target on that outlet is left, or its driver is unusable
     */
    public Map<String, Object> resumeJob(Map<String, Object> row) {
        if (row.get("driver") == null) {
            throw new PowerFatalException("configuration: no power target is left on outlet " + row.get("outlet_key")
                    + " (changed or deleted mid-cycle): switch it on by hand");
        }
        return build(row, false);
    }

    private Map<String, Object> build(Map<String, Object> row, boolean refuseProtected) {
        PowerDriver driver;
        try {
            driver = drivers.driver((String) row.get("driver"));
        } catch (ApiException e) {
            throw new PowerFatalException("configuration: " + e.getMessage());
        }
        Map<String, Object> job = new HashMap<>();
        job.put("commandId", row.get("command_id"));
        job.put("clientUuid", row.get("client_uuid"));
        job.put("driver", driver.name());
        job.put("plan", driver.plan().name().toLowerCase(java.util.Locale.ROOT));
        job.put("canQuery", driver.canQuery());
        job.put("canOff", driver.operations().contains("off"));
        job.put("endpointUri", drivers.endpointUri(driver));
        job.put("params", drivers.withDefaults(driver, params(row.get("params"))));
        job.put("outletKey", row.get("outlet_key"));
        job.put("forced", Boolean.TRUE.equals(row.get("forced")));
        job.put("secretRef", row.get("secret_ref"));
        job.put("offSeconds", offSeconds);
        job.put("offMillis", offSeconds * 1000L);
        job.put("startedAt", System.currentTimeMillis());
        if (refuseProtected && Boolean.TRUE.equals(row.get("outlet_protected")) && driver.plan() != PowerDriver.Plan.ON_ONLY) {
            throw new PowerFatalException("refused: the outlet is protected (it feeds network gear or the controller); "
                    + "the service never switches it off");
        }
        return job;
    }

    /**
     * @param job the job
     * @return the secret the power target references, or {@code null} when it references none
     * @throws PowerFatalException when the referenced variable is not set
     */
    public String secret(Map<String, Object> job) {
        String ref = (String) job.get("secretRef");
        if (ref == null) {
            return null;
        }
        String value = secrets.get(ref);
        if (value == null) {
            throw new PowerFatalException("configuration: secret_ref " + ref + " is not set (neither " + ref + " nor " + ref + "_FILE)");
        }
        return value;
    }

    /**
     * @param row {@code power-lock.sql}: acquired, holder
     * @param job the job
     * @return whether this job holds the outlet now
     * @throws PowerFatalException when another operation has held it for longer than the lock wait
     */
    public boolean acquired(Map<String, Object> row, Map<String, Object> job) {
        if (row != null && ((Number) row.get("acquired")).intValue() > 0) {
            return true;
        }
        long waited = System.currentTimeMillis() - ((Number) job.get("startedAt")).longValue();
        if (waited > lockWaitMillis) {
            throw new PowerFatalException("outlet busy: another power operation (command " + (row == null ? "?" : row.get("holder"))
                    + ") held it for the whole lock wait of " + lockWaitMillis / 1000 + " s");
        }
        return false;
    }

    /**
     * The last look before switching: the command must still be running and, unless forced, the
     * display still down.
     *
     * @param row {@code power-recheck.sql}: status, forced, liveness_state, process_status,
     *            spoke_since_command, last_alive_at
     * @return {@code null} to go ahead, otherwise why the outlet is not switched
     */
    public String recheck(Map<String, Object> row) {
        if (row == null) {
            return "the command no longer exists";
        }
        if (!"executing".equals(row.get("status"))) {
            return "the command is " + row.get("status") + " now";
        }
        if (Boolean.TRUE.equals(row.get("forced"))) {
            return null;
        }
        String liveness = String.valueOf(row.get("liveness_state"));
        if ("online".equals(liveness)) {
            return "the display is online again";
        }
        if ("crashed".equals(liveness)) {
            return "crashed".equals(row.get("process_status")) ? null
                    : "the display reports process_status " + row.get("process_status") + " again";
        }
        if (Boolean.TRUE.equals(row.get("spoke_since_command"))) {
            return "the display sent a message after the power cycle was requested (at " + row.get("last_alive_at") + ")";
        }
        return null;
    }

    /**
     * @param body a driver's answer
     * @return {@code on}, {@code off} or {@code unknown}
     * @throws PowerFatalException for any other answer (a driver that breaks the contract)
     */
    public String state(Object body) {
        String s = body == null ? "" : body.toString().trim().toLowerCase(java.util.Locale.ROOT);
        if (!STATES.contains(s)) {
            throw new PowerFatalException("driver contract: the driver answered '" + Text.abbreviate(Redaction.redact(s))
                    + "' instead of on, off or unknown");
        }
        return s;
    }

    /**
     * Whether a failed power cycle may have switched the outlet (then it keeps the lockout, like
     * any command that ran).
     *
     * @param switched  a switching call succeeded
     * @param attempted a switching call was made
     * @param kind      {@link #kind(Throwable)} of the failure
     * @return {@code true} when a switch succeeded, or a switching call failed in a way that leaves
     *         open whether the device acted (timeout, connection lost); {@code false} when the
     *         device refused (authentication, configuration, unsupported) or nothing was sent
     */
    public boolean mayHaveSwitched(Boolean switched, Boolean attempted, String kind) {
        return Boolean.TRUE.equals(switched) || (Boolean.TRUE.equals(attempted) && "retryable".equals(kind));
    }

    /**
     * @param n a counter, {@code null} = 0
     * @return n + 1
     */
    public int next(Integer n) {
        return n == null ? 1 : n + 1;
    }

    /**
     * @param redeliveryCounter Camel's {@code CamelRedeliveryCounter} after a call, or {@code null}
     * @return how many attempts the call took (1 without retries)
     */
    public int attempts(Integer redeliveryCounter) {
        return redeliveryCounter == null ? 1 : redeliveryCounter + 1;
    }

    /**
     * @param failure what a driver call threw
     * @return whether it is worth a retry: connection refused, timeouts, a connection reset or
     *         closed without an answer (flaky Wi-Fi of a plug), a device that answered 408, 429 or
     *         5xx, and {@link PowerRetryableException}
     */
    public boolean retryable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PowerFatalException) {
                return false;
            }
            if (t instanceof PowerRetryableException || t instanceof ConnectException || t instanceof SocketTimeoutException
                    || t instanceof NoRouteToHostException || t instanceof java.net.SocketException
                    || t instanceof org.apache.hc.core5.http.NoHttpResponseException
                    || t instanceof org.apache.hc.core5.http.ConnectionClosedException
                    || t instanceof org.apache.hc.client5.http.ConnectTimeoutException) {
                return true;
            }
            if (t instanceof HttpOperationFailedException h) {
                int code = h.getStatusCode();
                return code == 408 || code == 429 || code >= 500;
            }
            if (t instanceof UnknownHostException || t instanceof SSLException) {
                return false;
            }
        }
        return false;
    }

    /**
     * The longest time between two renewals of the outlet lock's lease (every step and every
     * check of a verification renews it for POWER_LOCK_LEASE_S + POWER_OFF_S, so the off-wait is
     * covered): one driver call with every retry and backoff, plus a verification interval.
     *
     * @param retryAttempts     POWER_RETRY_ATTEMPTS (retries after the first call)
     * @param retryDelayMs      POWER_RETRY_DELAY_MS, doubled per retry up to 30 s
     * @param connectTimeoutMs  POWER_HTTP_CONNECT_TIMEOUT_MS
     * @param timeoutMs         POWER_HTTP_TIMEOUT_MS
     * @param verifyIntervalMs  POWER_VERIFY_INTERVAL_MS
     * @return milliseconds
     */
    public static long longestStepMillis(int retryAttempts, long retryDelayMs, long connectTimeoutMs, long timeoutMs,
                                         long verifyIntervalMs) {
        long call = (Math.max(0, retryAttempts) + 1L) * (connectTimeoutMs + timeoutMs);
        long delay = retryDelayMs;
        for (int i = 0; i < retryAttempts; i++) {
            call += Math.min(delay, 30_000);
            delay = Math.min(delay * 2, 30_000);
        }
        return call + verifyIntervalMs;
    }

    /**
     * @param failure   what a driver call threw
     * @param operation the driver operation that failed ({@code query}, {@code on}, {@code off}, {@code cycle})
     * @return {@link #retryable(Throwable)}, except that a failure which may come after the device
     *         executed a non-idempotent request ({@code off}, {@code cycle}: see
     *         {@link #ambiguous(Throwable, String)}) is never re-sent — a repeated native cycle cuts
     *         the outlet again
     */
    public boolean retryable(Throwable failure, String operation) {
        return retryable(failure) && !ambiguous(failure, operation);
    }

    /**
     * @param failure   what a driver call threw
     * @param operation the driver operation that failed
     * @return whether an {@code off} or {@code cycle} request was sent and may have been executed
     *         although no answer came: an answer timeout or a connection reset or closed without an
     *         answer. Connection refused and a connect timeout (nothing sent) are not ambiguous.
     */
    public boolean ambiguous(Throwable failure, String operation) {
        if (!"off".equals(operation) && !"cycle".equals(operation)) {
            return false;
        }
        boolean lost = false;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PowerFatalException || t instanceof PowerRetryableException || t instanceof ConnectException
                    || t instanceof NoRouteToHostException || t instanceof org.apache.hc.client5.http.ConnectTimeoutException
                    || t instanceof HttpOperationFailedException
                    || (t instanceof SocketTimeoutException && String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("connect"))) {
                return false;
            }
            if (t instanceof SocketTimeoutException || t instanceof java.net.SocketException
                    || t instanceof org.apache.hc.core5.http.NoHttpResponseException
                    || t instanceof org.apache.hc.core5.http.ConnectionClosedException) {
                lost = true;
            }
        }
        return lost;
    }

    /**
     * @param failure what a driver call threw
     * @param step    the step that failed ({@code off}, {@code on}, {@code cycle}, {@code query}, …)
     * @return a detail for the command and the {@code power_failed} event, without secrets or URIs
     */
    public String failure(Throwable failure, String step) {
        String what = describe(failure);
        return Redaction.redact((step == null ? "" : step + ": ") + what);
    }

    /**
     * @param failure what a driver call threw
     * @return {@code retryable}, {@code auth}, {@code unsupported}, {@code configuration} or {@code fatal}
     */
    public String kind(Throwable failure) {
        if (retryable(failure)) {
            return "retryable";
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PowerUnsupportedException) {
                return "unsupported";
            }
            if (t instanceof HttpOperationFailedException h && (h.getStatusCode() == 401 || h.getStatusCode() == 403)) {
                return "auth";
            }
            if (t instanceof PowerFatalException p) {
                String m = String.valueOf(p.getMessage());
                return m.startsWith("auth") ? "auth" : m.startsWith("configuration") ? "configuration" : "fatal";
            }
            if (t instanceof UnknownHostException || t instanceof SSLException) {
                return "configuration";
            }
        }
        return "fatal";
    }

    /**
     * @param failure what a driver call threw
     * @return whether the driver refused the operation as unsupported (cycle → fall back to off/on)
     */
    public boolean unsupported(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PowerUnsupportedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Event detail with the driver and up to three more fields (a {@code null} value is left out).
     *
     * @param job the job
     * @return a JSON object as text
     */
    public String detail(Map<String, Object> job) {
        return detail(job, null, null, null, null, null, null);
    }

    /** See {@link #detail(Map)}. */
    public String detail(Map<String, Object> job, String k1, Object v1) {
        return detail(job, k1, v1, null, null, null, null);
    }

    /** See {@link #detail(Map)}. */
    public String detail(Map<String, Object> job, String k1, Object v1, String k2, Object v2) {
        return detail(job, k1, v1, k2, v2, null, null);
    }

    /** See {@link #detail(Map)}. */
    public String detail(Map<String, Object> job, String k1, Object v1, String k2, Object v2, String k3, Object v3) {
        Map<String, Object> d = new LinkedHashMap<>();
        if (job != null) {
            d.put("driver", job.get("driver"));
        }
        put(d, k1, v1);
        put(d, k2, v2);
        put(d, k3, v3);
        try {
            return mapper.writeValueAsString(d);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * @param job the job
     * @return the {@code power_intent} event detail: driver, plan, outlet, off_s, forced
     */
    public String intent(Map<String, Object> job) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("driver", job.get("driver"));
        d.put("plan", job.get("plan"));
        d.put("outlet", job.get("outletKey"));
        d.put("off_s", job.get("offSeconds"));
        d.put("forced", job.get("forced"));
        try {
            return mapper.writeValueAsString(d);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void put(Map<String, Object> d, String k, Object v) {
        if (k != null && v != null) {
            d.put(k, v instanceof String s ? Redaction.redact(s) : v);
        }
    }

    private static String describe(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof PowerFatalException || t instanceof PowerRetryableException) {
                return t.getMessage();
            }
            if (t instanceof HttpOperationFailedException h) {
                int code = h.getStatusCode();
                String meaning = code == 401 || code == 403 ? "authentication refused (check the secret secret_ref names)"
                        : code == 404 ? "not found (wrong host, path or outlet?)"
                        : code == 400 || code == 405 || code == 501 ? "the device refused the request (unsupported operation or parameter)"
                        : code == 408 || code == 429 || code >= 500 ? "the device reported a temporary error"
                        : "unexpected answer";
                String body = h.getResponseBody() == null || h.getResponseBody().isBlank() ? "" : ": " + Text.abbreviate(h.getResponseBody().replaceAll("\\s+", " "));
                return "HTTP " + code + " " + meaning + body;
            }
            if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
                return "connection refused or unreachable (" + t.getClass().getSimpleName() + ")";
            }
            if (t instanceof SocketTimeoutException || t instanceof org.apache.hc.client5.http.ConnectTimeoutException) {
                return "timeout: the device did not answer in time";
            }
            if (t instanceof org.apache.hc.core5.http.NoHttpResponseException || t instanceof org.apache.hc.core5.http.ConnectionClosedException) {
                return "the device closed the connection without an answer";
            }
            if (t instanceof java.net.SocketException) {
                return "connection lost (" + Text.abbreviate(String.valueOf(t.getMessage())) + ")";
            }
            if (t instanceof UnknownHostException) {
                return "configuration: unknown host " + Text.abbreviate(t.getMessage());
            }
            if (t instanceof SSLException) {
                return "configuration: TLS failed (" + Text.abbreviate(t.getMessage())
                        + "); a device with a self-signed certificate needs tls_insecure: true in its power target";
            }
        }
        return "unexpected error: " + failure.getClass().getSimpleName() + ": " + Text.abbreviate(String.valueOf(failure.getMessage()));
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> params(Object v) {
        try {
            if (v instanceof PGobject pg) {
                return mapper.readValue(pg.getValue(), Map.class);
            }
            return v == null ? Map.of() : mapper.readValue(v.toString(), Map.class);
        } catch (JsonProcessingException e) {
            throw new PowerFatalException("configuration: the stored params are not JSON");
        }
    }
}
