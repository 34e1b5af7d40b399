"""Distractor tasks for large catalogs: an action on an everyday thing, described as a product would."""
import random

from router.catalog import Task

THINGS = (  # (snake name, how a description names it)
    ("gym_membership", "gym membership"), ("car_insurance", "car insurance policy"),
    ("home_insurance", "home insurance policy"), ("parking_permit", "residential parking permit"),
    ("library_loan", "library book loan"), ("vet_appointment", "appointment at the vet"),
    ("internet_plan", "home internet plan"), ("phone_contract", "mobile phone contract"),
    ("electricity_tariff", "electricity tariff"), ("water_bill", "water bill"),
    ("tax_return", "income tax return"), ("passport", "passport application"),
    ("driving_lesson", "driving lesson"), ("dentist_visit", "dentist appointment"),
    ("prescription", "medical prescription refill"), ("grocery_order", "grocery delivery order"),
    ("food_delivery", "takeaway food delivery"), ("laundry_pickup", "laundry pickup"),
    ("cleaning_service", "home cleaning service"), ("plumber_visit", "plumber visit"),
    ("car_service", "car service at the garage"), ("tyre_change", "tyre change"),
    ("bike_rental", "city bike rental"), ("car_sharing", "car sharing booking"),
    ("ferry_crossing", "ferry crossing"), ("train_pass", "monthly train pass"),
    ("airport_transfer", "airport transfer"), ("museum_ticket", "museum entry ticket"),
    ("theatre_seat", "theatre seat"), ("concert_ticket", "concert ticket"),
    ("sports_match", "ticket for a sports match"), ("cooking_class", "cooking class"),
    ("language_course", "language course"), ("online_course", "online course enrolment"),
    ("school_enrolment", "school enrolment"), ("daycare_place", "place at a daycare"),
    ("babysitter", "babysitter booking"), ("pet_sitter", "pet sitter booking"),
    ("dog_grooming", "dog grooming session"), ("hair_appointment", "hairdresser appointment"),
    ("massage_session", "massage session"), ("yoga_class", "yoga class"),
    ("personal_trainer", "personal trainer session"), ("storage_unit", "self-storage unit"),
    ("moving_van", "moving van rental"), ("furniture_delivery", "furniture delivery"),
    ("online_order", "online shop order"), ("gift_card", "gift card"),
    ("loyalty_points", "loyalty points balance"), ("credit_card", "credit card"),
    ("mortgage", "mortgage application"), ("personal_loan", "personal loan"),
    ("savings_account", "savings account"), ("pension_plan", "pension plan"),
    ("stock_portfolio", "stock portfolio"), ("crypto_wallet", "crypto wallet"),
    ("streaming_subscription", "video streaming subscription"), ("music_subscription", "music subscription"),
    ("newspaper_subscription", "newspaper subscription"), ("magazine_subscription", "magazine subscription"),
    ("software_licence", "software licence"), ("cloud_storage", "cloud storage plan"),
    ("domain_name", "website domain name"), ("web_hosting", "web hosting plan"),
    ("email_account", "email account"), ("support_ticket", "IT support ticket"),
    ("warranty_claim", "warranty claim"), ("insurance_claim", "insurance claim"),
    ("parcel_delivery", "parcel delivery"), ("mail_redirection", "mail redirection"),
    ("council_tax", "council tax payment"), ("recycling_collection", "bulky waste collection"),
    ("blood_test", "blood test appointment"), ("vaccination", "vaccination appointment"),
    ("eye_test", "eye test at the optician"), ("physiotherapy", "physiotherapy session"),
    ("wedding_venue", "wedding venue"), ("party_catering", "party catering"),
    ("conference_room", "conference room booking"), ("coworking_desk", "coworking desk"),
)
ACTIONS = (  # (verb in the name, description template: {thing})
    ("book", "The user wants to book a {thing} for a date and time of their choice"),
    ("cancel", "The user wants to cancel their {thing} and asks what it costs to do so"),
    ("reschedule", "The user wants to move their {thing} to another date"),
    ("check_status_of", "The user asks about the current status of their {thing}"),
    ("renew", "The user wants to renew their {thing} before it expires"),
    ("pay_for", "The user wants to pay for their {thing} with a saved payment method"),
    ("compare_offers_for", "The user wants to compare offers and prices for a {thing}"),
    ("complain_about", "The user wants to file a complaint about a problem with their {thing}"),
    ("update_details_of", "The user wants to change the personal details on their {thing}"),
    ("get_quote_for", "The user asks for a price quote for a new {thing}"),
    ("get_refund_for", "The user wants a refund for their {thing}"),
    ("find_information_on", "The user asks general questions about how a {thing} works"),
)


def distractor_tasks(count: int, taken: set[str] = frozenset(), seed: int = 0) -> list[Task]:
    """`count` distinct tasks (at most len(THINGS) * len(ACTIONS)) whose names are not in `taken`."""
    pairs = [(verb, name, template.format(thing=thing)) for name, thing in THINGS
             for verb, template in ACTIONS if f"{verb}_{name}" not in taken]
    random.Random(seed).shuffle(pairs)
    if count > len(pairs):
        raise ValueError(f"at most {len(pairs)} distractor tasks, {count} asked for")
    return [Task(f"{verb}_{name}", description) for verb, name, description in pairs[:count]]
