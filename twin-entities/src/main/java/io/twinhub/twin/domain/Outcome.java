package io.twinhub.twin.domain;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Result of a pure domain operation: the new value, or a typed {@link Rejection}. Rejections
 * are ordinary values, never exceptions, so an entity can reply with them without try/catch.
 */
public sealed interface Outcome<T> permits Outcome.Accepted, Outcome.Rejected {

    record Accepted<T>(T value) implements Outcome<T> {
        public Accepted {
            Objects.requireNonNull(value, "value");
        }
    }

    record Rejected<T>(Rejection rejection) implements Outcome<T> {
        public Rejected {
            Objects.requireNonNull(rejection, "rejection");
        }

        /** The same rejection, typed for another value type. */
        @SuppressWarnings("unchecked")
        public <U> Rejected<U> cast() {
            return (Rejected<U>) this;
        }
    }

    static <T> Outcome<T> accepted(T value) {
        return new Accepted<>(value);
    }

    static <T> Outcome<T> rejected(Rejection rejection) {
        return new Rejected<>(rejection);
    }

    static <T> Outcome<T> rejected(TwinRule rule, String path, String message) {
        return new Rejected<>(Rejection.of(rule, path, message));
    }

    /** {@code Accepted(value)} when {@code problem} is empty, else that rejection. */
    static <T> Outcome<T> unless(Optional<Rejection> problem, T value) {
        return problem.<Outcome<T>>map(Outcome::rejected).orElseGet(() -> accepted(value));
    }

    default boolean isAccepted() {
        return this instanceof Accepted;
    }

    default Optional<T> optionalValue() {
        return this instanceof Accepted<T> a ? Optional.of(a.value()) : Optional.empty();
    }

    default Optional<Rejection> optionalRejection() {
        return this instanceof Rejected<T> r ? Optional.of(r.rejection()) : Optional.empty();
    }

    default <U> Outcome<U> map(Function<? super T, ? extends U> f) {
        return this instanceof Accepted<T> a ? accepted(f.apply(a.value())) : ((Rejected<T>) this).cast();
    }

    default <U> Outcome<U> flatMap(Function<? super T, Outcome<U>> f) {
        return this instanceof Accepted<T> a ? f.apply(a.value()) : ((Rejected<T>) this).cast();
    }

    default <R> R fold(Function<? super T, ? extends R> onAccepted, Function<? super Rejection, ? extends R> onRejected) {
        return this instanceof Accepted<T> a ? onAccepted.apply(a.value()) : onRejected.apply(((Rejected<T>) this).rejection());
    }
}
